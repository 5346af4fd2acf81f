import { assert, assertEquals, assertThrows } from "../../support/assert.ts";
import {
  DEFAULT_SEQUENCE,
  seededHash,
  SequenceEngine,
  type SequenceLimits,
} from "../../../lib/rules/sequence.ts";
import { rng } from "../../support/rng.ts";
import { SequenceModel } from "../../support/sequence_model.ts";

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

// Ids of all kinds: one byte a code unit, two (é is under 256, € is not), a lone surrogate,
// empty, and long enough to need room in the arena.
const PREFIXES = ["c", "é", "€", "\ud800", "", "x".repeat(300)];
function pickId(next: () => number, ids: number): string {
  const n = Math.floor(next() * ids);
  return `${PREFIXES[n % PREFIXES.length]}${n}`;
}

// Random observations (some roles outside the sequence, time moving on by random steps) fed
// to the engine and to the plain model; every answer, the counters and the recency order
// must agree.
function agreeWithModel(
  seed: number,
  limits: SequenceLimits,
  ids: number,
  steps: number,
  hash?: (s: string) => number,
): void {
  const next = rng(seed);
  const roles = [...DEFAULT_SEQUENCE, "bystander"];
  const e = new SequenceEngine(DEFAULT_SEQUENCE, limits, hash ? { hash } : {});
  const m = new SequenceModel(DEFAULT_SEQUENCE, limits);
  let now = 0;
  for (let i = 0; i < steps; i++) {
    now += Math.floor(next() * 3);
    const id = pickId(next, ids);
    const role = roles[Math.floor(next() * roles.length)]!;
    assertEquals(e.observe(id, role, now), m.observe(id, role, now), `step ${i}: ${id} ${role}`);
    if (i % 97 === 0) {
      const probe = pickId(next, ids);
      assertEquals(e.lastPosition(probe), m.lastPosition(probe), `step ${i}: ${probe}`);
    }
    if (i % 4999 === 0) assertEquals(e.snapshot(), m.snapshot(), `step ${i}`);
  }
  assertEquals(e.stats(), {
    tracked: m.tracked,
    evictedIdle: m.evictedIdle,
    evictedOverCap: m.evictedOverCap,
  });
  assertEquals(e.snapshot(), m.snapshot());
}

Deno.test("the packed tables agree with a plain model, with room to spare and growing past 1,024", () => {
  agreeWithModel(0x5e9, { ttlMs: 1e12, maxConversations: 5_000 }, 3_000, 60_000);
});

Deno.test("the packed tables agree with a plain model when the cap and the TTL evict all the time", () => {
  agreeWithModel(0x5ea, { ttlMs: 500, maxConversations: 64 }, 400, 60_000);
  agreeWithModel(0x5eb, { ttlMs: 1e12, maxConversations: 1 }, 5, 5_000);
});

Deno.test("the packed tables agree with a plain model when every id hashes alike", () => {
  // One probe run for all: removal must move later entries back, or lookups stop short.
  agreeWithModel(0x5ec, { ttlMs: 200, maxConversations: 40 }, 80, 20_000, () => 7);
  agreeWithModel(0x5ed, { ttlMs: 1e12, maxConversations: 300 }, 500, 20_000, (s) => s.length);
});

Deno.test("an id is still found after ids it collided with are removed before and after it", () => {
  const e = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 10, maxConversations: 10 }, {
    hash: () => 0,
  });
  // One probe run: a, b, c. b is the least recently active, then a.
  e.observe("a", "primary", 0);
  e.observe("b", "primary", 1);
  e.observe("c", "secondary", 2);
  e.observe("a", "secondary", 5);
  e.observe("c", "primary", 6);
  e.expire(11.5); // b, in the middle of the run
  assertEquals([e.lastPosition("a"), e.lastPosition("b"), e.lastPosition("c")], [1, -1, 0]);
  e.expire(15.5); // a, at its start
  assertEquals([e.lastPosition("a"), e.lastPosition("c")], [-1, 0]);
  assertEquals(e.stats(), { tracked: 1, evictedIdle: 2, evictedOverCap: 0 });
});

Deno.test("restore keeps the recency order, so the least recently active are evicted first", () => {
  const e = engine({ ttlMs: 1e9, maxConversations: 3 });
  e.restore([
    { conversation: "late", last: 0, seenAt: 30 },
    { conversation: "early", last: 0, seenAt: 10 },
    { conversation: "middle", last: 1, seenAt: 20 },
  ], 40);
  e.observe("new", "primary", 41);
  assertEquals(e.snapshot().map((s) => s.conversation), ["middle", "late", "new"]);
  assertEquals(e.stats().evictedOverCap, 1);
});

Deno.test("the id hash depends on its seed and spreads similar ids over the index", () => {
  const a = seededHash(1);
  const b = seededHash(2);
  const ids = Array.from({ length: 65_536 }, (_, i) => `conversation-${i}`);
  assert(ids.filter((id) => a(id) === b(id)).length < 10);
  // 65,536 sequential ids into 131,072 buckets: a uniform spread uses 131,072 × (1 − e^−0.5),
  // about 51,600 of them.
  const used = new Set(ids.map((id) => a(id) & 131_071)).size;
  assert(used > 50_000, `${used} buckets used`);
});

Deno.test("peek answers what observe would, and records nothing", () => {
  const e = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1000, maxConversations: 10 });
  assertEquals(e.peek("c", "secondary", 0)?.expected, "primary");
  assertEquals(e.peek("c", "primary", 0), undefined);
  assertEquals(e.stats().tracked, 0);
  assertEquals(e.observe("c", "primary", 0), undefined);
  assertEquals(e.peek("c", "secondary", 1), undefined);
  assertEquals(e.peek("c", "observer", 1)?.expected, "secondary");
  assertEquals(e.peek("c", "observer", 1), e.observe("c", "observer", 1));
  // Still after primary: neither peek moved it.
  assertEquals(e.lastPosition("c"), 0);
  // Idle past the TTL the conversation would start afresh: secondary is out of turn again.
  assertEquals(e.peek("c", "secondary", 1002)?.expected, "primary");
  assertEquals(e.stats().evictedIdle, 0);
  assertEquals(e.peek("c", "unknown-role", 1), undefined);
});
