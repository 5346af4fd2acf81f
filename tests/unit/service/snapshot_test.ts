import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotTo,
  keepAside,
  loadSnapshot,
  saveSnapshot,
  type SnapshotToSave,
} from "../../../lib/service/snapshot.ts";
import { tempDir } from "../../support/helpers.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../../../lib/rules/sequence.ts";
import { SequenceRule } from "../../../lib/rules/sequence_rule.ts";
import { RoleMap } from "../../../lib/rules/roles.ts";
import type { Finding } from "../../../lib/rules/finding.ts";
import { violationFinding } from "../../support/findings.ts";

function sequenceRule(max = 1_000): { rule: SequenceRule; engine: SequenceEngine } {
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e12, maxConversations: max });
  return { rule: new SequenceRule(engine, new RoleMap({}, DEFAULT_SEQUENCE)), engine };
}

const SEQUENCE_FINDING = violationFinding({
  id: "3f0c1d52-5d5e-4f1e-9f3a-0a4f3d2b1c00",
  at: 950,
  protocol: "legacy",
  conversation: "g",
  agent: "observer",
  role: "observer",
  expected: "secondary",
  sequence: ["primary", "secondary", "observer"],
});
// A finding of another rule, with its own shape: the snapshot keeps it as it is.
const OTHER_FINDING: Finding = {
  id: "0b5e1c9a-0000-4000-8000-000000000001",
  rule: "posture",
  action: "posture_violation",
  at: 960,
  detail: "Posture violation: scout posture, agent main wrote a file",
  outcome: "logged",
  agent: "main",
  key: "tool_call",
  data: { id: "0b5e1c9a-0000-4000-8000-000000000001", tool: "write", class: "write" },
};
const TURNS = { caughtUpAt: 5, sessions: [{ key: "s", lastSeq: 2, lastAt: 3, keys: ["k"] }] };

function toSave(rule: SequenceRule, pending: Finding[]): SnapshotToSave {
  return { savedAt: 1000, rules: [rule], pending: () => pending, turns: () => TURNS };
}

Deno.test("a snapshot keeps each rule's state, pending findings of any rule and the turns, 0600", async () => {
  const { rule, engine } = sequenceRule();
  engine.observe("g", "primary", 900);
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await saveSnapshot(path, toSave(rule, [SEQUENCE_FINDING, OTHER_FINDING]));
  const loaded = (await loadSnapshot(path, 0)).snapshot!;
  assertEquals(loaded.rejected, []);
  assertEquals(loaded.pending, [SEQUENCE_FINDING, OTHER_FINDING]);
  assertEquals(loaded.turns, TURNS);
  assertEquals(loaded.rules.sequence, {
    sequence: DEFAULT_SEQUENCE,
    conversations: [["g", 0, 900]],
  });
  const { rule: fresh, engine: freshEngine } = sequenceRule();
  assertEquals(fresh.restoreState(loaded.rules.sequence, 950), undefined);
  assertEquals(freshEngine.snapshot(), engine.snapshot());
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
});

Deno.test("a snapshot that is not JSON is moved aside whole, kept, and reported", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await Deno.writeTextFile(path, '{"format": 2, "rules": ');
  const r = await loadSnapshot(path, 42);
  assertEquals(r.snapshot, undefined);
  assertStringIncludes(r.error!, "Cannot read state snapshot");
  assertEquals(r.movedTo, `${path}.bad-42`);
  assertEquals(await Deno.readTextFile(r.movedTo!), '{"format": 2, "rules": ');
});

Deno.test("an entry that cannot be read is kept aside; every other pending finding is used", async () => {
  const { rule } = sequenceRule();
  const good = JSON.parse(encodeSnapshot(toSave(rule, [SEQUENCE_FINDING, OTHER_FINDING])));
  good.pending.splice(1, 0, { id: "x", rule: "posture", outcome: "maybe" }, "junk");
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await Deno.writeTextFile(path, JSON.stringify(good));
  const r = await loadSnapshot(path, 7);
  assertEquals(r.snapshot!.pending, [SEQUENCE_FINDING, OTHER_FINDING]);
  assertEquals(r.snapshot!.rejected.map((e) => e.what), ["pending[1]", "pending[2]"]);
  const where = await keepAside(path, { entries: r.snapshot!.rejected, now: 7 });
  assertEquals(where, `${path}.rejected-7`);
  const kept = JSON.parse(await Deno.readTextFile(where));
  assertEquals(kept.map((e: { entry: unknown }) => e.entry), [
    { id: "x", rule: "posture", outcome: "maybe" },
    "junk",
  ]);
  // The snapshot itself stays where it is: nothing else was lost.
  assertEquals((await Deno.stat(path)).isFile, true);
});

Deno.test("a format 1 snapshot (before the rule engine) is read: its violations become sequence findings", () => {
  const v1 = {
    format: 1,
    sequence: ["primary", "secondary", "observer"],
    savedAt: 1000,
    conversations: [["g", 1, 900]],
    pending: [
      {
        id: SEQUENCE_FINDING.id,
        at: 950,
        protocol: "legacy",
        conversation: "g",
        agent: "observer",
        role: "observer",
        expected: "secondary",
        sequence: ["primary", "secondary", "observer"],
      },
      { id: "half", at: 1 },
    ],
    turns: TURNS,
  };
  const s = decodeSnapshot(JSON.stringify(v1), "s");
  assertEquals(s.pending, [SEQUENCE_FINDING]);
  assertEquals(s.rejected.map((e) => e.what), ["pending[1]"]);
  assertEquals(s.rules.sequence, { sequence: v1.sequence, conversations: v1.conversations });
  assertEquals(s.turns, TURNS);
});

Deno.test("a rule refuses state of the wrong shape, and says when the sequence changed", () => {
  const { rule } = sequenceRule();
  for (
    const bad of ["x", { sequence: "primary" }, { sequence: [], conversations: [["g", "1", 2]] }]
  ) {
    let threw = false;
    try {
      rule.restoreState(bad, 0);
    } catch {
      threw = true;
    }
    assert(threw, JSON.stringify(bad));
  }
  assertStringIncludes(
    rule.restoreState({ sequence: ["primary", "observer"], conversations: [["g", 0, 1]] }, 0)!,
    "the sequence changed",
  );
});

Deno.test("a snapshot is one moment: a change made while it is being saved is not in it", async () => {
  const { rule, engine } = sequenceRule();
  engine.observe("before", "primary", 1);
  const pending: Finding[] = [SEQUENCE_FINDING];
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  const saving = saveSnapshot(path, toSave(rule, pending));
  // What the daemon does between two turns of the event loop while the save is under way.
  engine.observe("after", "primary", 2);
  pending.push(OTHER_FINDING);
  await saving;
  const loaded = (await loadSnapshot(path, 0)).snapshot!;
  assertEquals(
    (loaded.rules.sequence as { conversations: unknown[][] }).conversations.map((c) => c[0]),
    ["before"],
  );
  assertEquals(loaded.pending, [SEQUENCE_FINDING]);
});

Deno.test("a snapshot of 100,000 conversations is written in pieces, and reads back whole", async () => {
  const { rule, engine } = sequenceRule(100_000);
  for (let i = 0; i < 100_000; i++) engine.observe(`conv-\u00e9-${i}`, "primary", 1_000 + i);
  const snap = toSave(rule, [SEQUENCE_FINDING]);
  const pieces: string[] = [];
  encodeSnapshotTo(snap, (text) => pieces.push(text));
  // Pieces of about 16 Ki characters: nothing holds the 3 MB whole on the way to the file.
  assert(pieces.length > 150, `${pieces.length} pieces`);
  assert(Math.max(...pieces.map((p) => p.length)) < 17_000);
  const expected = {
    format: 2,
    savedAt: 1000,
    rules: {
      sequence: {
        sequence: DEFAULT_SEQUENCE,
        conversations: engine.snapshot().map((c) => [c.conversation, c.last, c.seenAt]),
      },
    },
    pending: [SEQUENCE_FINDING],
    turns: TURNS,
  };
  assertEquals(pieces.join(""), JSON.stringify(expected) + "\n");

  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await saveSnapshot(path, snap);
  const loaded = (await loadSnapshot(path, 0)).snapshot!;
  const { rule: fresh, engine: freshEngine } = sequenceRule(100_000);
  fresh.restoreState(loaded.rules.sequence, 200_000);
  assertEquals(freshEngine.snapshot(), engine.snapshot());
});
