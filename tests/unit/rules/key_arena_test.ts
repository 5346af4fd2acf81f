import { assert, assertEquals } from "../../support/assert.ts";
import { KeyArena } from "../../../lib/rules/_key_arena.ts";
import { rng } from "../../support/rng.ts";

// An owner as the engine is one: offsets and lengths of the strings it keeps.
class Owner {
  readonly kept = new Map<string, { at: number; length: number }>();
  readonly #byOwner: string[] = [];
  readonly arena = new KeyArena((owner, offset) => {
    this.kept.get(this.#byOwner[owner]!)!.at = offset;
  });

  add(s: string): void {
    const length = KeyArena.lengthOf(s);
    const owner = this.#byOwner.length;
    this.#byOwner.push(s);
    this.kept.set(s, { at: this.arena.add(s, length, owner), length });
  }

  remove(s: string): void {
    this.arena.release(this.kept.get(s)!.at);
    this.kept.delete(s);
  }

  check(): void {
    for (const [s, k] of this.kept) {
      assertEquals(this.arena.read(k.at, k.length), s);
      assert(this.arena.equals(k.at, k.length, s));
    }
  }
}

Deno.test("strings read back exactly: one byte, two bytes, lone surrogates, empty", () => {
  const o = new Owner();
  const all = ["conversation-1", "café", "€uro", "\ud800x", "\udfff", "", "ÿ", "\u0100"];
  for (const s of all) o.add(s);
  o.check();
  assertEquals(all.map(KeyArena.lengthOf), [14, 4, -4, -2, -1, 0, 1, -1]);
});

Deno.test("equals tells apart strings that differ in length, one unit, or width", () => {
  const o = new Owner();
  o.add("abc");
  o.add("a€c");
  const abc = o.kept.get("abc")!;
  const wide = o.kept.get("a€c")!;
  assert(!o.arena.equals(abc.at, abc.length, "abd"));
  assert(!o.arena.equals(abc.at, abc.length, "ab"));
  assert(!o.arena.equals(abc.at, abc.length, "a€c"));
  assert(!o.arena.equals(wide.at, wide.length, "abc"));
  // "€" is 0x20ac: a one-byte store of 0xac must not match it.
  assert(!o.arena.equals(wide.at, wide.length, "a\u00acc"));
});

Deno.test("compaction keeps every live string and gives back the space of removed ones", () => {
  const o = new Owner();
  const next = rng(0xa7e);
  let added = 0;
  // A window of 2,000 live strings of random lengths (up to 300 units) sliding over 100,000.
  const order: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const width = Math.floor(next() * 300);
    const s = `${next() < 0.1 ? "€" : "c"}${i}-${"x".repeat(width)}`;
    o.add(s);
    order.push(s);
    added += s.length;
    if (order.length > 2_000) o.remove(order.shift()!);
    if (i % 10_007 === 0) o.check();
  }
  o.check();
  // Some 15 MB went through; what is held stays within a small multiple of what is live.
  assert(added > 15_000_000);
  assert(o.arena.capacity <= 4 * o.arena.live, `${o.arena.capacity} for ${o.arena.live} live`);
});

Deno.test("the arena shrinks when the live strings do", () => {
  const o = new Owner();
  for (let i = 0; i < 20_000; i++) o.add(`conversation-${i}`);
  const big = o.arena.capacity;
  for (let i = 0; i < 19_990; i++) o.remove(`conversation-${i}`);
  // The next compaction (when the end is reached) sizes the array to what is live, 10 strings.
  // Each name takes 3 units or more, so `big` of them reach the end: past that, it never shrinks.
  for (let i = 0; o.arena.capacity === big; i++) {
    assert(i < big, `the arena kept its capacity of ${big} after ${i} adds and removes`);
    o.add(`n-${i}`);
    o.remove(`n-${i}`);
  }
  o.check();
  assert(o.arena.capacity <= 4096, `${o.arena.capacity}`);
});

Deno.test("a busy arena with as much live as ever compacts in place, allocating nothing", () => {
  const o = new Owner();
  let i = 0;
  const step = () => {
    o.remove(`conversation-${i - 1_000}`);
    o.add(`conversation-${i++}`);
  };
  while (i < 1_000) o.add(`conversation-${i++}`);
  // The first compaction sizes the array for the 1,000 live; from then on it is reused.
  while (i < 11_000) step();
  const { arrays, capacity } = o.arena;
  while (i < 211_000) step();
  o.check();
  assertEquals([o.arena.arrays, o.arena.capacity], [arrays, capacity]);
  assert(capacity <= 2 * o.arena.live, `${capacity} for ${o.arena.live} live`);
});
