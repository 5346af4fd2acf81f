import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { python, ROOT, tempDir } from "../../support/helpers.ts";
import { appendReplayed, readLines, replayLines } from "../../../lib/cli/replay.ts";
import { DEFAULT_CONFIG } from "../../../lib/service/config.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";
import { turnEvent } from "../../../lib/gateway/openclaw/turn_event.ts";
import { parseFrame, turnFromEvent } from "../../../lib/gateway/openclaw/protocol.ts";

const LEGACY = join(ROOT, "examples", "legacy-session.jsonl");
const OPENCLAW = join(ROOT, "examples", "openclaw-session.jsonl");

async function replay(path: string) {
  const file = await Deno.open(path);
  return await replayLines(readLines(file.readable), {
    config: DEFAULT_CONFIG,
    governance: DEFAULT_GOVERNANCE,
  });
}

Deno.test("replaying a recording twice appends its violations once", async () => {
  await using dir = await tempDir();
  const ledger = dir.join("ledger.jsonl");
  const first = await replay(LEGACY);
  assert(first.violations.length > 0);
  const a = await appendReplayed(ledger, first.violations, DEFAULT_GOVERNANCE);
  assertEquals([a.hashes.length, a.alreadyThere], [first.violations.length, 0]);
  const b = await appendReplayed(ledger, (await replay(LEGACY)).violations, DEFAULT_GOVERNANCE);
  assertEquals([b.hashes.length, b.alreadyThere], [0, first.violations.length]);
  assertEquals((await python(["verify", ledger])).stdout.trim(), `OK ${first.violations.length}`);
});

Deno.test("replayed lines say they were replayed, and from which line", async () => {
  await using dir = await tempDir();
  const ledger = dir.join("ledger.jsonl");
  const r = await replay(LEGACY);
  await appendReplayed(ledger, r.violations, DEFAULT_GOVERNANCE);
  const lines = (await Deno.readTextFile(ledger)).trim().split("\n").map((l) => JSON.parse(l));
  lines.forEach((l, i) => {
    const line = r.violations[i]!.line;
    assertEquals(l.violation.replay, { line });
    assertStringIncludes(l.detail, `Replayed (recording line ${line}): Sequence violation`);
  });
});

Deno.test("a replayed OpenClaw turn has the id `run` gives the same turn", async () => {
  const r = await replay(OPENCLAW);
  assert(r.violations.length > 0);
  const text = await Deno.readTextFile(OPENCLAW);
  const runIds = new Set<string>();
  for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
    const f = parseFrame(line);
    if (f.type !== "event") continue;
    const t = turnFromEvent(f, "rest");
    if (typeof t === "object") runIds.add(turnEvent(t, { at: 0, source: "live" }).id!);
  }
  // The sequence rule's findings take the turn's id; the drift rule's derive theirs from it.
  const sequence = r.violations.filter((v) => v.finding.rule === "sequence");
  assert(sequence.length > 0);
  for (const v of sequence) assert(runIds.has(v.finding.id), v.finding.id);
});

Deno.test("a different recording gives different ids for its legacy frames", async () => {
  const text = await Deno.readTextFile(LEGACY);
  async function* lines(prefix: string) {
    yield prefix;
    for (const l of text.split("\n")) yield l;
  }
  const opts = { config: DEFAULT_CONFIG, governance: DEFAULT_GOVERNANCE };
  const a = await replayLines(lines(""), opts);
  const b = await replayLines(lines('{"type":"heartbeat"}'), opts);
  assertEquals(a.violations.length, b.violations.length);
  for (let i = 0; i < a.violations.length; i++) {
    assert(a.violations[i]!.finding.id !== b.violations[i]!.finding.id);
  }
});

const TOOL_CALLS = join(ROOT, "examples", "openclaw-tool-calls.jsonl");

async function replayWith(extra: { before?: string[]; at?: Record<number, string[]> }) {
  const lines = (await Deno.readTextFile(TOOL_CALLS)).trimEnd().split("\n");
  const out = [...(extra.before ?? [])];
  lines.forEach((l, i) => out.push(l, ...(extra.at?.[i + 1] ?? [])));
  async function* gen() {
    yield* out;
  }
  return await replayLines(gen(), {
    config: { ...DEFAULT_CONFIG, auditSlackSeconds: 0 },
    governance: DEFAULT_GOVERNANCE,
  });
}

const entry = (agent: string, ms: number) =>
  JSON.stringify({
    timestamp: new Date(ms).toISOString().replace("Z", "000+00:00"),
    agent,
    component: "audit_stub",
    action: "answer",
    detail: "d",
    hash: `h${ms}`,
  });

Deno.test("replay judges runs against the ledger entries the recording carries", async () => {
  // Six runs of primary; its own entry lands inside the first run only (at 286130..288362).
  const r = await replayWith({ at: { 3: [entry("primary", 1796164287000)] } });
  assertEquals(r.ledgerEntries, 1);
  assertEquals(r.auditJudged, true);
  const missing = r.violations.filter((v) => v.finding.action === "audit_missing");
  assertEquals(missing.length, 5);
  // Each names the line of the run's answer (the chat final), not the end of the recording.
  assertEquals(missing.map((v) => v.line), [34, 53, 67, 80, 94].map((n) => n + 1));
  // Another agent's entry does not count.
  const other = await replayWith({ at: { 3: [entry("secondary", 1796164287000)] } });
  assertEquals(other.violations.filter((v) => v.finding.action === "audit_missing").length, 6);
});

Deno.test("without ledger entries in the recording, runs are not judged for them, and it says how many", async () => {
  const r = await replayWith({});
  assertEquals(r.auditJudged, false);
  assertEquals(r.auditUnjudged, 6);
  assertEquals(r.violations.filter((v) => v.finding.action === "audit_missing"), []);
});

Deno.test("governance lines in a recording set the governance rules judge with, and its changes are found", async () => {
  const gov = (posture: string) =>
    JSON.stringify({
      type: "moses.governance",
      state: { mode: "high-integrity", posture, role: "primary" },
    });
  const offense = await replayWith({ before: [gov("offense")] });
  assertEquals(offense.governanceChanges, 1);
  assertEquals(offense.violations.filter((v) => v.finding.action === "posture_violation"), []);
  // Scout from the start: the example's write calls break the posture.
  const r = await replayWith({ before: [gov("offense")], at: { 1: [gov("scout")] } });
  assertEquals(r.governanceChanges, 2);
  const changes = r.violations.filter((v) => v.finding.action === "governance_change");
  assertEquals(changes.length, 1);
  const tools = r.violations.filter((v) => v.finding.action === "posture_violation");
  assert(tools.length > 0);
  for (const t of tools) assertEquals(t.governance.posture, "scout");
  // A governance line that holds no object is skipped and counted, the rest replayed.
  const bad = await replayWith({ before: ['{"type": "moses.governance", "state": 5}'] });
  assertEquals(bad.counters.skipped["bad_moses_line" as keyof typeof bad.counters.skipped], 1);
  assertEquals(bad.lines > 90, true);
});

Deno.test("tool policy lines in a recording are judged against its governance (governance_drift)", async () => {
  const gov = (posture: string) => JSON.stringify({ type: "moses.governance", state: { posture } });
  const policy = (tools: unknown) =>
    JSON.stringify({ type: "moses.tool_policy", config: { tools } });
  const drift = (r: Awaited<ReturnType<typeof replayWith>>) =>
    r.violations.filter((v) => v.finding.action === "governance_drift");
  // Scout, and a gateway whose policy leaves every tool: a mismatch.
  const open = await replayWith({ before: [gov("scout"), policy(null)] });
  assertEquals(open.toolPolicies, 1);
  assert(drift(open).length > 0);
  // The same policy once more is the same mismatch: nothing new.
  const twice = await replayWith({ before: [gov("scout"), policy(null), policy(null)] });
  assertEquals(drift(twice).length, drift(open).length);
  // A policy that denies the mutating tools: no mismatch for scout.
  const closed = await replayWith({
    before: [
      gov("scout"),
      policy({
        deny: ["group:fs", "group:runtime", "message", "gateway", "nodes", "cron", "canvas"],
      }),
    ],
  });
  assertEquals(drift(closed).filter((v) => v.agent === "primary"), []);
});
