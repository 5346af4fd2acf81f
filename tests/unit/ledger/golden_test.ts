/**
 * The ledger lines for the same input are byte for byte those the coordinator wrote before
 * the rule engine (main at cfef20e): the examples and a seeded random recording go through
 * the intake, the rules and the ledger's sealer along `run`'s path (OpenClaw ids derived
 * from the turn, legacy ids given in order, a fixed clock), and are compared with
 * `tests/fixtures/golden/*.ledger.jsonl`, which that code wrote for the same input.
 * @module
 */
import { join } from "node:path";
import { assertEquals } from "../../support/assert.ts";
import { ROOT } from "../../support/helpers.ts";
import { FrameIntake } from "../../../lib/gateway/intake.ts";
import { parseFrame, turnFromEvent } from "../../../lib/gateway/openclaw/protocol.ts";
import { TurnTracker } from "../../../lib/gateway/openclaw/turn_tracker.ts";
import { turnEvent } from "../../../lib/gateway/openclaw/turn_event.ts";
import { GENESIS_HASH, sealEntry } from "../../../lib/ledger/append.ts";
import { findingEntry } from "../../../lib/ledger/entries.ts";
import { findingSealer } from "../../../lib/ledger/sealer.ts";
import type { Finding } from "../../../lib/rules/finding.ts";
import { buildRuleEngine } from "../../../lib/service/rule_set.ts";
import { DEFAULT_CONFIG } from "../../../lib/service/config.ts";

const GOV = { mode: "high-integrity", posture: "defense", role: "primary", session_hash: "abc" };
const BASE = 1_795_000_000_000;
// The role map the golden files were written with.
const ROLES = { bob: "observer", "ärztin": "secondary" };

function findingsOf(lines: string[]): Finding[] {
  const found: Finding[] = [];
  let n = 0;
  const rules = buildRuleEngine(
    { ...DEFAULT_CONFIG, roles: ROLES, conversationTtlSeconds: 1e9, maxConversations: 1000 },
    {
      governance: () => ({ fields: GOV, broadcast: false }),
      // The drift rule came after these files (its findings are tested on their own).
      onFinding: (f) => f.rule !== "drift" && found.push(f),
      newId: () => `legacy-${++n}`,
    },
  );
  const intake = new FrameIntake({ onEvent: (e) => rules.handle(e) });
  const tracker = new TurnTracker();
  lines.forEach((line, i) => {
    const at = BASE + i * 1000 + 123.456;
    const f = parseFrame(line);
    if (f.type === "event") {
      const t = turnFromEvent(f, "rest");
      if (typeof t !== "object") return;
      const fresh = tracker.isNew(t);
      tracker.record(t);
      if (fresh) {
        intake.handleDecoded({ kind: "event", event: turnEvent(t, { at, source: "live" }) });
      }
    } else if (f.type !== "res") {
      intake.handleText(line, at);
    }
  });
  return found;
}

async function input(name: string): Promise<string[]> {
  const path = name === "random-legacy"
    ? join(ROOT, "tests", "fixtures", "golden", "random-legacy.jsonl")
    : join(ROOT, "examples", `${name}.jsonl`);
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "");
}

for (const name of ["legacy-session", "openclaw-session", "random-legacy"]) {
  Deno.test(`${name}: the ledger lines are byte for byte those of the code before the rule engine`, async () => {
    const golden = await Deno.readTextFile(
      join(ROOT, "tests", "fixtures", "golden", `${name}.ledger.jsonl`),
    );
    const findings = findingsOf(await input(name));
    // The fast line builder, as the writer uses it.
    const seal = findingSealer(GOV);
    let previous = GENESIS_HASH;
    const fast = findings.map((f) => {
      const s = seal(f)(previous);
      previous = s.hash;
      return s.line;
    }).join("");
    assertEquals(fast, golden);
    // And the generic path every other rule's findings take.
    previous = GENESIS_HASH;
    const generic = findings.map((f) => {
      const s = sealEntry(findingEntry(f, GOV), previous);
      previous = s.hash;
      return s.line;
    }).join("");
    assertEquals(generic, golden);
  });
}
