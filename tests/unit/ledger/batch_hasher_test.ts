import { assert, assertEquals } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { BatchHasher } from "../../../lib/ledger/_batch_hasher.ts";

const hex = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("only lines whose stated hash differs come back, with both hashes, across many batches", () => {
  const hasher = new BatchHasher();
  const found: [number, string, string][] = [];
  hasher.onMismatch = (line, stated, computed) => found.push([line, stated, computed]);
  const expected: [number, string, string][] = [];
  // 1,000 lines (batches of 64, groups of 4 and a short last group), lengths 0 to 999.
  for (let line = 1; line <= 1000; line++) {
    const content = ascii(`{"n":${line},"pad":"${"x".repeat((line * 37) % 1000)}"}`);
    let stated = hex(content);
    if (line % 97 === 0) stated = hex(ascii(`other ${line}`));
    if (line === 500) stated = stated.toUpperCase(); // Python's hex is lower case: no match
    if (line === 501) stated = stated.slice(0, 63);
    if (line === 502) stated = `${stated.slice(0, 63)}g`;
    if (stated !== hex(content)) expected.push([line, stated, hex(content)]);
    // The stated hash sits inside a longer line, as in a ledger.
    const src = ascii(`{"hash":"${stated}"}`);
    hasher.add(line, content, src, 9, 9 + stated.length);
  }
  hasher.flush();
  assertEquals(found.sort((a, b) => a[0] - b[0]), expected);
  assertEquals(expected.length, 10 + 3);
});

Deno.test("a line longer than the hasher's memory grows it; clear() drops what is queued unhashed", () => {
  const hasher = new BatchHasher();
  const found: number[] = [];
  hasher.onMismatch = (line) => found.push(line);
  const big = ascii("y".repeat(3 * 1024 * 1024));
  const stated = ascii(hex(big));
  hasher.add(1, big, stated, 0, 64);
  hasher.add(2, ascii("{}"), stated, 0, 64);
  hasher.flush();
  assertEquals(found, [2]);
  hasher.add(3, ascii("{}"), stated, 0, 64);
  hasher.clear();
  hasher.flush();
  assertEquals(found, [2]);
});

Deno.test("lines given as text (the exact path) are checked as their UTF-8 bytes, mixed with byte lines", () => {
  const hasher = new BatchHasher();
  const found: [number, string][] = [];
  hasher.onMismatch = (line, stated) => found.push([line, stated]);
  for (let line = 1; line <= 150; line++) {
    const text = `{"detail":"MO§ES ${"é".repeat(line)} 😀 ${line}"}`;
    const right = hex(new TextEncoder().encode(text));
    const stated = line % 50 === 0 ? "not a hash" : line % 30 === 0 ? right.slice(1) + "0" : right;
    if (line % 2 === 0) hasher.addText(line, text, stated);
    else hasher.add(line, ascii(text), ascii(stated), 0, stated.length);
  }
  hasher.flush();
  assertEquals(
    found.map(([line]) => line),
    [30, 50, 60, 90, 100, 120, 150],
  );
  assertEquals(found.find(([line]) => line === 50)![1], "not a hash");
});

Deno.test("long text lines are hashed a few at a time: the memory grows to about one of them, not to the queue", () => {
  const hasher = new BatchHasher();
  let mismatches = 0;
  hasher.onMismatch = () => mismatches++;
  const text = "é".repeat(256 * 1024);
  const stated = hex(new TextEncoder().encode(text));
  for (let line = 1; line <= 64; line++) hasher.addText(line, text, stated);
  hasher.flush();
  assertEquals(mismatches, 0);
  // 64 lines queued at the most their UTF-8 could take would be 48 MiB.
  assert(hasher.memoryBytes < 8 * 1024 * 1024, String(hasher.memoryBytes));
});
