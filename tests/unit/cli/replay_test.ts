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
