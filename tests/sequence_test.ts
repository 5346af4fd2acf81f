import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/sequence.ts";

const LIMITS = { ttlMs: 60_000, maxConversations: 1000 };

function engine(limits = LIMITS, seq = DEFAULT_SEQUENCE) {
  return new SequenceEngine(seq, limits);
}

/** Feeds roles in order into one conversation; returns the expected role of each violation, or "-" */
function run(e: SequenceEngine, roles: string[], conv = "c", t0 = 0): string[] {
  return roles.map((r, i) => e.observe(conv, r, t0 + i)?.expected ?? "-");
}

Deno.test("a full primary, secondary, observer cycle makes no violation, twice over", () => {
  const e = engine();
  assertEquals(run(e, ["primary", "secondary", "observer", "primary", "secondary", "observer"]), [
    "-",
    "-",
    "-",
    "-",
    "-",
    "-",
  ]);
});

Deno.test("observer before secondary is a violation that names secondary as expected", () => {
  const e = engine();
  const v = e.observe("c", "primary", 0) ?? e.observe("c", "observer", 1);
  assertEquals(v, { conversation: "c", role: "observer", expected: "secondary", lastPosition: 0 });
});

Deno.test("the state does not move on a violation", () => {
  const e = engine();
  // After primary, observer is out of turn; secondary is still the one expected, then observer.
  assertEquals(run(e, ["primary", "observer", "observer", "secondary", "observer"]), [
    "-",
    "secondary",
    "secondary",
    "-",
    "-",
  ]);
});

Deno.test("primary may always open a new cycle, even mid-cycle", () => {
  const e = engine();
  assertEquals(run(e, ["primary", "secondary", "primary", "secondary", "observer"]), [
    "-",
    "-",
    "-",
    "-",
    "-",
  ]);
});

Deno.test("a conversation that opens with secondary or observer expects primary", () => {
  assertEquals(run(engine(), ["secondary"]), ["primary"]);
  assertEquals(run(engine(), ["observer"]), ["primary"]);
});

Deno.test("a repeated secondary after secondary expects observer", () => {
  assertEquals(run(engine(), ["primary", "secondary", "secondary"]), ["-", "-", "observer"]);
});

Deno.test("conversations are independent of each other", () => {
  const e = engine();
  assertEquals(e.observe("a", "primary", 0), undefined);
  assertEquals(e.observe("b", "secondary", 1)?.expected, "primary");
  assertEquals(e.observe("a", "secondary", 2), undefined);
});

Deno.test("roles outside the sequence are ignored and change nothing", () => {
  const e = engine();
  e.observe("c", "primary", 0);
  assertEquals(e.observe("c", "broadcast", 1), undefined);
  assertEquals(e.lastPosition("c"), 0);
  assertEquals(e.stats().tracked, 1);
});

Deno.test("a configured sequence of four roles is enforced in its own order", () => {
  const e = engine(LIMITS, ["lead", "critic", "editor", "observer"]);
  assertEquals(run(e, ["lead", "critic", "editor", "observer", "lead", "editor"]), [
    "-",
    "-",
    "-",
    "-",
    "-",
    "critic",
  ]);
});

Deno.test("a one-role sequence never reports a violation", () => {
  const e = engine(LIMITS, ["primary"]);
  assertEquals(run(e, ["primary", "primary", "primary"]), ["-", "-", "-"]);
});

Deno.test("an idle conversation expires after the TTL and is counted", () => {
  const e = engine({ ttlMs: 1000, maxConversations: 10 });
  e.observe("c", "primary", 0);
  // Within the TTL the cycle continues; after it, the conversation starts afresh.
  assertEquals(e.observe("c", "secondary", 999), undefined);
  assertEquals(e.observe("c", "observer", 2500)?.expected, "primary");
  assertEquals(e.stats().evictedIdle, 1);
});

Deno.test("the number of conversations is capped, least recently active first", () => {
  const e = engine({ ttlMs: 1e9, maxConversations: 3 });
  e.observe("a", "primary", 0);
  e.observe("b", "primary", 1);
  e.observe("c", "primary", 2);
  e.observe("a", "secondary", 3); // a is now the most recent
  e.observe("d", "primary", 4); // evicts b
  assertEquals(e.stats(), { tracked: 3, evictedIdle: 0, evictedOverCap: 1 });
  assertEquals(e.lastPosition("a"), 1);
  assertEquals(e.observe("b", "secondary", 5)?.expected, "primary");
});

Deno.test("memory stays bounded under a flood of one-off conversations", () => {
  const e = engine({ ttlMs: 1e9, maxConversations: 500 });
  for (let i = 0; i < 20_000; i++) e.observe(`conv-${i}`, "primary", i);
  assertEquals(e.stats().tracked, 500);
  assertEquals(e.stats().evictedOverCap, 19_500);
});

Deno.test("a snapshot restores where each conversation stands", () => {
  const e = engine();
  e.observe("a", "primary", 10);
  e.observe("b", "primary", 11);
  e.observe("b", "secondary", 12);
  const f = engine();
  assertEquals(f.restore(e.snapshot(), 20), 2);
  assertEquals(f.observe("a", "observer", 21)?.expected, "secondary");
  assertEquals(f.observe("b", "observer", 22), undefined);
});

Deno.test("restore skips out-of-range positions and expired conversations", () => {
  const f = engine({ ttlMs: 100, maxConversations: 10 });
  const n = f.restore([
    { conversation: "bad", last: 7, seenAt: 1000 },
    { conversation: "old", last: 0, seenAt: 1 },
    { conversation: "ok", last: 1, seenAt: 1000 },
  ], 1050);
  assertEquals(n, 1);
  assertEquals(f.lastPosition("ok"), 1);
  assertEquals(f.lastPosition("bad"), -1);
});

Deno.test("an empty or repeating sequence is refused", () => {
  assertThrows(() => engine(LIMITS, []), RangeError);
  assertThrows(() => engine(LIMITS, ["a", "a"]), RangeError);
  assert(engine().hasRole("observer"));
});
