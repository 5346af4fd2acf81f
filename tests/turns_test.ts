import { assertEquals } from "./support/assert.ts";
import { TurnTracker } from "../lib/gateway/openclaw/turn_tracker.ts";
import type { Turn } from "../lib/gateway/openclaw/protocol.ts";

const turn = (sessionKey: string, key: string, seq?: number, at?: number): Turn => ({
  sessionKey,
  agentId: "primary",
  conversation: "c",
  key,
  seq,
  at,
});

Deno.test("a turn is new until recorded, and a second announcement of it is not", () => {
  const t = new TurnTracker();
  assertEquals(t.isNew(turn("s", "msg:1")), true);
  t.record(turn("s", "msg:1"));
  assertEquals(t.isNew(turn("s", "msg:1", 4)), false);
  assertEquals(t.isNew(turn("s", "msg:2")), true);
});

Deno.test("a message at or below the session's last seq is not new, above it is", () => {
  const t = new TurnTracker();
  t.record(turn("s", "msg:1", 5));
  assertEquals(t.isNew(turn("s", "msg:0", 4)), false);
  assertEquals(t.isNew(turn("s", "msg:9", 6)), true);
  t.passOver("s2", 10);
  assertEquals(t.isNew(turn("s2", "msg:x", 10)), false);
  assertEquals(t.isNew(turn("s2", "msg:y", 11)), true);
});

Deno.test("memory is bounded: the least recently active sessions are forgotten", () => {
  const t = new TurnTracker(3);
  for (const s of ["a", "b", "c"]) t.record(turn(s, "msg:1", 1));
  t.record(turn("a", "msg:2", 2)); // a is now the most recent
  t.record(turn("d", "msg:1", 1)); // forgets b
  assertEquals(t.size, 3);
  assertEquals(t.knows("b"), false);
  assertEquals(t.knows("a"), true);
});

Deno.test("the tracker survives a round trip through its snapshot", () => {
  const t = new TurnTracker();
  t.caughtUpAt = 1234;
  t.record(turn("s", "run:r", 7));
  const u = new TurnTracker();
  u.restore(JSON.parse(JSON.stringify(t.snapshot())));
  assertEquals(u.caughtUpAt, 1234);
  assertEquals(u.isNew(turn("s", "run:r")), false);
  assertEquals(u.lastSeq("s"), 7);
});

Deno.test("a session reset (new transcript id) starts its seqs over instead of hiding new turns", () => {
  const t = new TurnTracker();
  t.record({ ...turn("s", "msg:1", 9), sessionId: "old" });
  assertEquals(t.isNew({ ...turn("s", "msg:2", 1), sessionId: "old" }), false);
  assertEquals(t.isNew({ ...turn("s", "msg:2", 1), sessionId: "new" }), true);
  t.record({ ...turn("s", "msg:2", 1), sessionId: "new" });
  assertEquals(t.lastSeq("s", "new"), 1);
  assertEquals(t.lastSeq("s", "other"), undefined);
});

Deno.test("a reset that keeps the transcript id is seen by a low seq recorded later", () => {
  const t = new TurnTracker();
  t.record(turn("s", "msg:a", 7, 1000));
  // Already seen: seq and record time both at or below the watermark.
  assertEquals(t.isNew(turn("s", "msg:old", 6, 900)), false);
  // After /reset the seqs start over, but the record time is newer.
  const after = turn("s", "msg:new", 2, 2000);
  assertEquals(t.isNew(after), true);
  t.record(after);
  assertEquals(t.lastSeq("s"), 2);
  assertEquals(t.isNew(turn("s", "msg:next", 3, 2100)), true);
});
