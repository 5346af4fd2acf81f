import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { join } from "node:path";
import {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotTo,
  loadSnapshot,
  saveSnapshot,
  type Snapshot,
  type SnapshotToSave,
} from "../lib/service/snapshot.ts";
import { tempStateDir } from "./support/helpers.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/rules/sequence.ts";

const SNAP: Snapshot = {
  sequence: ["primary", "secondary", "observer"],
  savedAt: 1000,
  conversations: [{ conversation: "g", last: 1, seenAt: 900 }],
  pending: [{
    id: "3f0c1d52-5d5e-4f1e-9f3a-0a4f3d2b1c00",
    at: 950,
    protocol: "legacy",
    conversation: "g",
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: ["primary", "secondary", "observer"],
  }],
};

Deno.test("a snapshot survives a round trip through its file, written 0600", async () => {
  const dir = await tempStateDir();
  const path = join(dir, "snapshot.json");
  await saveSnapshot(path, SNAP);
  assertEquals((await loadSnapshot(path, 0)).snapshot, SNAP);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a malformed snapshot is moved aside, kept, and reported", async () => {
  const dir = await tempStateDir();
  const path = join(dir, "snapshot.json");
  await Deno.writeTextFile(path, '{"format": 1, "sequence": ');
  const r = await loadSnapshot(path, 42);
  assertEquals(r.snapshot, undefined);
  assertStringIncludes(r.error!, "Cannot read state snapshot");
  assertEquals(r.movedTo, `${path}.bad-42`);
  assertEquals(await Deno.readTextFile(r.movedTo!), '{"format": 1, "sequence": ');
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshots with entries of the wrong shape are refused", () => {
  const good = JSON.parse(encodeSnapshot(SNAP));
  const bad = [
    { ...good, format: 2 },
    { ...good, conversations: [["g", "1", 2]] },
    { ...good, pending: [{ ...good.pending[0], protocol: "smoke" }] },
    { ...good, sequence: "primary" },
  ];
  for (const b of bad) {
    let threw = false;
    try {
      decodeSnapshot(JSON.stringify(b), "s");
    } catch {
      threw = true;
    }
    assert(threw, JSON.stringify(b));
  }
});

Deno.test("a snapshot of 100,000 conversations is written in pieces, and reads back whole", async () => {
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e12, maxConversations: 100_000 });
  for (let i = 0; i < 100_000; i++) engine.observe(`conv-\u00e9-${i}`, "primary", 1_000 + i);
  const snap: SnapshotToSave = {
    ...SNAP,
    conversations: engine,
    turns: { caughtUpAt: 5, sessions: [{ key: "s", lastSeq: 2, lastAt: 3, keys: ["k"] }] },
  };
  const pieces: string[] = [];
  encodeSnapshotTo(snap, (text) => pieces.push(text));
  // Pieces of about 16 Ki characters: nothing holds the 3 MB whole on the way to the file.
  assert(pieces.length > 150, `${pieces.length} pieces`);
  assert(Math.max(...pieces.map((p) => p.length)) < 17_000);
  const expected = {
    format: 1,
    sequence: SNAP.sequence,
    savedAt: SNAP.savedAt,
    conversations: engine.snapshot().map((c) => [c.conversation, c.last, c.seenAt]),
    pending: SNAP.pending,
    turns: snap.turns,
  };
  assertEquals(pieces.join(""), JSON.stringify(expected) + "\n");

  const dir = await tempStateDir();
  const path = join(dir, "snapshot.json");
  await saveSnapshot(path, snap);
  const loaded = (await loadSnapshot(path, 0)).snapshot!;
  assertEquals(loaded.conversations, engine.snapshot());
  assertEquals(loaded.pending, SNAP.pending);
  await Deno.remove(dir, { recursive: true });
});
