import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { join } from "node:path";
import {
  decodeSnapshot,
  encodeSnapshot,
  loadSnapshot,
  saveSnapshot,
  type Snapshot,
} from "../lib/snapshot.ts";
import { tempStateDir } from "./support/helpers.ts";

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
