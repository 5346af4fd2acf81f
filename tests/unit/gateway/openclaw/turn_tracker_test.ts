import { assertEquals } from "../../../support/assert.ts";
import {
  compareTurnPlaces,
  orderTurns,
  turnPlaces,
  TurnTracker,
} from "../../../../lib/gateway/openclaw/turn_tracker.ts";
import type { Turn } from "../../../../lib/gateway/openclaw/protocol.ts";

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

const keysOf = (turns: Turn[]) => turns.map((t) => t.key);

Deno.test("the feed order: by record time; a turn without one stays in its place in its session", () => {
  const order = orderTurns([
    turn("a", "a1", 1, 100),
    turn("a", "a2", 2), // recorded after a1, before a3
    turn("a", "a3", 3, 300),
    turn("b", "b0", 1), // before b1
    turn("b", "b1", 2, 200),
    turn("c", "c1", 1), // a session with no times at all: after the timed turns, as given
    turn("c", "c2", 2),
  ]);
  assertEquals(keysOf(order), ["a1", "a2", "b0", "b1", "a3", "c1", "c2"]);
});

Deno.test("equal record times across sessions keep the input order, whatever the seqs", () => {
  const p = turn("p", "p", 9, 500);
  const o = turn("o", "o", 2, 500);
  assertEquals(keysOf(orderTurns([p, o])), ["p", "o"]);
  assertEquals(keysOf(orderTurns([o, p])), ["o", "p"]);
});

Deno.test("catch-up and buffered live turns merge into one order", () => {
  const caughtUp = [turn("a", "a5", 5, 100), turn("a", "a6", 6, 400), turn("b", "b3", 3, 250)];
  // Announced live while the catch-up ran: one with no time (a chat final without a
  // timestamp) comes after the latest of its session, another is the same time as b3.
  const live = [turn("b", "b4", 4, 250), turn("a", "a7", undefined), turn("c", "c1", 1, 300)];
  assertEquals(keysOf(orderTurns([...caughtUp, ...live])), [
    "a5",
    "b3",
    "b4",
    "c1",
    "a6",
    "a7",
  ]);
});

Deno.test("the comparator is total: unknown times compare by position, never NaN", () => {
  const places = turnPlaces([turn("x", "x1"), turn("y", "y1")]);
  assertEquals(places.map((p) => p.at), [Infinity, Infinity]);
  assertEquals(compareTurnPlaces(places[0]!, places[1]!) < 0, true);
  assertEquals(compareTurnPlaces(places[1]!, places[0]!) > 0, true);
  assertEquals(compareTurnPlaces(places[0]!, places[0]!), 0);
  assertEquals(compareTurnPlaces({ at: 1, index: 9 }, { at: 2, index: 0 }) < 0, true);
});

Deno.test("a run announced again after many tool calls is still known: its key is refreshed", () => {
  const tracker = new TurnTracker();
  const base = { sessionKey: "agent:secondary:g", agentId: "secondary", conversation: "g" };
  const run = { ...base, key: "run:R", seq: 1, at: 1 };
  assertEquals(tracker.isNew(run), true);
  tracker.record(run);
  for (let i = 0; i < 100; i++) {
    tracker.record({ ...base, key: `tool:R:c${i}`, seq: undefined, at: undefined });
    // Each tool call is followed by another assistant message of the same run.
    const again = { ...base, key: "run:R", seq: 2 + 2 * i, at: 2 + i };
    assertEquals(tracker.isNew(again), false, `announcement ${i} taken for a new turn`);
    tracker.record(again);
  }
});
