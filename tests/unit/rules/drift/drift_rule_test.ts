import { assert, assertEquals } from "../../../support/assert.ts";
import { ToolRig } from "../../../support/tool_calls.ts";
import { isFinding, type TurnEvent } from "../../../../lib/rules/mod.ts";
import {
  CommitmentDriftRule,
  DRIFT_KEY,
  type DriftOptions,
  type DriftRecord,
  tfidfDrift,
} from "../../../../lib/rules/drift/mod.ts";
import { RESERVED_KEYS } from "../../../../lib/rules/finding.ts";
import { sha256Hex } from "../../../../lib/util/mod.ts";

const SECRET = "zanzibar-TOPSECRET";
let turnNo = 0;

function turn(text: string | undefined, more: Partial<TurnEvent> = {}): TurnEvent {
  turnNo++;
  return {
    kind: "turn",
    protocol: "openclaw",
    conversation: "c1",
    agent: "primary",
    at: 1_000 + turnNo,
    id: `turn-${turnNo}`,
    source: "live",
    ...(text !== undefined ? { text } : {}),
    ...more,
  };
}

// Short answers are the subject of their own test; elsewhere every answer is scored.
function rig(options: Partial<DriftOptions> = {}) {
  const rule = new CommitmentDriftRule({ minTerms: 1, ...options });
  return { rule, rig: new ToolRig([rule]) };
}

const LEDGER = "ledger audit chain hash entries verified appended writer";
const WALLET = "wallet transfer outbound payment crypto exchange balance";

Deno.test("the first answer is the baseline; an answer far from it is a commitment_drift", () => {
  const { rule, rig: r } = rig();
  assertEquals(r.judge(turn(LEDGER)), []);
  const found = r.judge(turn(`${WALLET} ${SECRET}`, { agent: "secondary" }));
  assertEquals(found.length, 1);
  const f = found[0]!;
  assert(isFinding(f));
  assertEquals([f.rule, f.action, f.key, f.outcome, f.conversation, f.agent], [
    "drift",
    "commitment_drift",
    "drift",
    "logged",
    "c1",
    "secondary",
  ]);
  const d = f.data as DriftRecord;
  assertEquals(d.score, 100);
  assertEquals([d.level, d.scorer, d.threshold, d.history_turns], ["red", "tfidf", "red", 1]);
  assertEquals(d.text_sha256, sha256Hex(`${WALLET} ${SECRET}`));
  assertEquals(d.id, f.id);
  assertEquals(rule.stats().scored, 1);
  assertEquals(rule.stats().red, 1);
  assertEquals(rule.stats().baselines, 1);
});

Deno.test("the finding never holds the text: not in the detail, nor anywhere in its JSON", () => {
  const { rig: r } = rig();
  r.judge(turn(LEDGER));
  const [f] = r.judge(turn(`${WALLET} ${SECRET}`));
  assert(f !== undefined);
  assert(!JSON.stringify(f).includes(SECRET));
  assert(!JSON.stringify(f).includes("wallet"));
  assert(!RESERVED_KEYS.has(DRIFT_KEY));
});

Deno.test("the score is commitment.py's against the conversation's earlier turns", () => {
  const { rig: r } = rig({ level: "yellow" });
  const history = [LEDGER, "the ledger writer appended entries and verified the chain"];
  const message = "ledger entries verified; wallet balance checked";
  r.judge(turn(history[0]));
  r.judge(turn(history[1]));
  const [f] = r.judge(turn(message));
  assertEquals((f?.data as DriftRecord).score, tfidfDrift(message, history));
  assertEquals((f?.data as DriftRecord).history_turns, 2);
});

Deno.test("the level decides: below it nothing, at it a finding; Jaccard by config", () => {
  const same = rig();
  same.rig.judge(turn(LEDGER));
  assertEquals(same.rig.judge(turn(LEDGER)), [], "no drift");
  assertEquals(same.rule.stats().green, 1);
  // Half the words changed: Jaccard 66.67 (red), counted whatever the threshold.
  const half = "ledger audit chain hash wallet transfer outbound payment";
  const j = rig({ scorer: "jaccard", level: "red" });
  j.rig.judge(turn(LEDGER));
  const [f] = j.rig.judge(turn(half));
  assertEquals([(f?.data as DriftRecord).scorer, (f?.data as DriftRecord).score], [
    "jaccard",
    66.67,
  ]);
});

Deno.test("turns without text are counted and not scored; conversations are kept apart", () => {
  const { rule, rig: r } = rig();
  assertEquals(r.judge(turn(undefined)), []);
  r.judge(turn(LEDGER, { conversation: "a" }));
  assertEquals(r.judge(turn(WALLET, { conversation: "b" })), [], "b's first answer: its baseline");
  assertEquals(rule.stats().withoutText, 1);
  assertEquals(rule.stats().baselines, 2);
});

Deno.test("history keeps the last N turns and stays under the byte cap", () => {
  const { rig: r } = rig({ historyTurns: 2, level: "yellow" });
  r.judge(turn(LEDGER));
  r.judge(turn(WALLET));
  r.judge(turn(WALLET));
  // LEDGER has left the two-turn window: an answer like it is far from what is kept.
  const [f] = r.judge(turn(LEDGER));
  assertEquals((f?.data as DriftRecord).history_turns, 2);
  assertEquals((f?.data as DriftRecord).score, 100);
  const small = rig({ maxHistoryBytes: 600, level: "yellow" });
  small.rig.judge(turn(LEDGER)); // 8 terms: about 64 + 8 × 52 bytes, under 600
  small.rig.judge(turn(WALLET));
  const [g] = small.rig.judge(turn(WALLET));
  assertEquals((g?.data as DriftRecord | undefined)?.history_turns, undefined, "no drift");
  const [h] = small.rig.judge(turn(LEDGER));
  assertEquals((h?.data as DriftRecord).history_turns, 1, "one turn fits under the cap");
});

Deno.test("conversations beyond the cap: the least recently active is forgotten first", () => {
  const { rule, rig: r } = rig({ maxConversations: 2 });
  r.judge(turn(LEDGER, { conversation: "a" }));
  r.judge(turn(LEDGER, { conversation: "b" }));
  r.judge(turn(LEDGER, { conversation: "a" })); // a is now the more recent
  r.judge(turn(LEDGER, { conversation: "c" })); // evicts b
  assertEquals(rule.conversations, 2);
  assertEquals(rule.stats().evicted, 1);
  // a still has its history; b starts afresh (its answer is a new baseline).
  assertEquals(r.judge(turn(WALLET, { conversation: "a" })).length, 1);
  assertEquals(r.judge(turn(WALLET, { conversation: "b" })), []);
  assertEquals(rule.stats().baselines, 4);
});

Deno.test("the same turn found twice gets the same finding id", () => {
  const a = rig();
  const b = rig();
  for (const x of [a, b]) x.rig.judge(turn(LEDGER, { id: "base" }));
  const [f] = a.rig.judge(turn(WALLET, { id: "same" }));
  const [g] = b.rig.judge(turn(WALLET, { id: "same" }));
  assertEquals(f?.id, g?.id);
});

Deno.test("answers with fewer distinct terms than minTerms are neither scored nor kept", () => {
  const rule = new CommitmentDriftRule(); // the default: 8
  const r = new ToolRig([rule]);
  assertEquals(r.judge(turn("On it: checking the ledger now.")), []); // 3 terms
  assertEquals(r.judge(turn(LEDGER)), [], "8 terms: the baseline, not the short one");
  assertEquals(r.judge(turn("Sure, the wallet.")), []);
  assertEquals(r.judge(turn(`${WALLET} exchange rates`)).length, 1);
  assertEquals([rule.stats().short, rule.stats().baselines, rule.stats().scored], [2, 1, 1]);
});

Deno.test("the rule keeps no state in the snapshot: agents' text is never written", () => {
  const { rule } = rig();
  assertEquals("saveState" in rule, false);
});

Deno.test("an OpenClaw run is scored once, at its final answer, on the final text", () => {
  const { rule, rig: r } = rig();
  assertEquals(r.judge(turn(LEDGER)), []); // the baseline (a turn without a run)
  // The run's first announcement is its tool call's message: not scored, whatever its text.
  assertEquals(r.judge(turn(`${WALLET} ${SECRET}`, { run: "r1" })), []);
  assertEquals(rule.stats().scored, 0);
  const answered = {
    kind: "run" as const,
    protocol: "openclaw" as const,
    conversation: "c1",
    agent: "primary",
    at: 5_000,
    id: "run-r1",
    source: "live" as const,
    run: "r1",
    phase: "answered" as const,
    recordedAt: 5_000,
    text: `${WALLET} ${SECRET}`,
  };
  assertEquals(r.judge({ ...answered, phase: "start", text: undefined }), []);
  const found = r.judge(answered);
  assertEquals(found.map((f) => f.action), ["commitment_drift"]);
  assertEquals(rule.stats().scored, 1);
  assert(!JSON.stringify(found).includes(SECRET));
});
