import { assert, assertEquals } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { BatchHasher } from "../../../lib/ledger/_batch_hasher.ts";
import { LineScanner, runOps } from "../../../lib/ledger/_scan.ts";
import { canonicalJsonWithout, pythonDumps } from "../../../lib/ledger/pyjson.ts";
import { rng } from "../../support/rng.ts";

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

Deno.test("a line too long for the queue is hashed apart and the memory does not grow; clear() drops what is queued unhashed", () => {
  const hasher = new BatchHasher();
  const size = hasher.memoryBytes;
  const found: [number, string][] = [];
  hasher.onMismatch = (line, _stated, computed) => found.push([line, computed]);
  const big = ascii("y".repeat(3 * 1024 * 1024));
  const stated = ascii(hex(big));
  hasher.add(1, big, stated, 0, 64);
  hasher.add(2, ascii("{}"), stated, 0, 64);
  hasher.add(3, ascii("z".repeat(2 * 1024 * 1024)), stated, 0, 64);
  // The long line's mismatch is known at once; the short one's once its batch is hashed.
  assertEquals(found.map(([line]) => line), [3]);
  hasher.flush();
  assertEquals(found, [[3, hex(ascii("z".repeat(2 * 1024 * 1024)))], [2, hex(ascii("{}"))]]);
  hasher.add(4, ascii("{}"), stated, 0, 64);
  hasher.clear();
  hasher.flush();
  assertEquals(found.length, 2);
  assertEquals(hasher.memoryBytes, size);
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

Deno.test("long text lines are hashed a few at a time, and one too long for the queue apart: the memory never grows", () => {
  const hasher = new BatchHasher();
  const size = hasher.memoryBytes;
  const found: number[] = [];
  hasher.onMismatch = (line) => found.push(line);
  const text = "é".repeat(256 * 1024);
  const stated = hex(new TextEncoder().encode(text));
  for (let line = 1; line <= 64; line++) hasher.addText(line, text, line === 40 ? "0" : stated);
  const long = "é".repeat(600 * 1024);
  hasher.addText(65, long, hex(new TextEncoder().encode(long)));
  hasher.addText(66, long, stated);
  hasher.flush();
  assertEquals(found.sort((a, b) => a - b), [40, 66]);
  // 64 lines queued at the most their UTF-8 could take would be 48 MiB.
  assertEquals(hasher.memoryBytes, size);
  assert(size < 8 * 1024 * 1024, String(size));
});

// Ledger-like lines of every shape the scanner takes: nested objects and arrays at the top
// level (described apart and run in place), keys spaced from their colons, empty objects,
// long and short values, escapes.
function scannableLine(r: () => number, i: number): Record<string, unknown> {
  const word = (n: number) =>
    "abcdefghijklmnopqrstuvwxyz0123456789".slice(0, 1 + Math.floor(r() * n));
  const entry: Record<string, unknown> = {
    timestamp: `2026-12-02T08:00:${String(i % 60).padStart(2, "0")}Z`,
    detail: `${word(36)} "quoted" \\ ${"x".repeat(Math.floor(r() * 300))}\n`,
    n: Math.floor(r() * 2 ** 40) - 2 ** 39,
    ok: r() < 0.5,
    none: null,
  };
  if (r() < 0.7) {
    entry.violation = {
      id: `id-${i}`,
      z: [1, "two", { b: [], a: {} }],
      a: { deep: { deeper: word(30) } },
    };
  }
  if (r() < 0.3) entry.list = [word(5), [word(50)], {}, -7];
  if (r() < 0.2) entry.empty = {};
  return entry;
}

Deno.test("lines scanned in the hasher's read buffer are written by emit exactly as canonical() writes them", () => {
  const r = rng(7);
  const hasher = new BatchHasher({ readBufferBytes: 1 << 20 });
  const scanner = new LineScanner({ ops: hasher.ops, stop: hasher.stop });
  const [buf] = hasher.readBuffers();
  const found: number[] = [];
  hasher.onMismatch = (line) => found.push(line);
  const expected: number[] = [];
  const dec = new TextDecoder();
  let at = 0;
  let taken = 0;
  for (let line = 1; line <= 3000; line++) {
    const entry = scannableLine(r, line);
    const right = hex(ascii(canonicalJsonWithout(entry, "hash")));
    const wrong = line % 101 === 0;
    if (wrong) expected.push(line);
    let text = pythonDumps({ ...entry, hash: wrong ? hex(ascii(`${line}`)) : right });
    // Some keys spaced from their colons, which the scanner cannot copy with the key.
    if (line % 7 === 0) text = text.replace('"detail": ', '"detail" : ');
    const bytes = ascii(`${text}\n`);
    // Lines run on in the buffer, the last one up to its very end.
    if (at + bytes.length > buf.length) {
      hasher.flush();
      at = 0;
    }
    if (line === 3000) at = buf.length - bytes.length;
    buf.set(bytes, at);
    const end = scanner.scan(buf, at, at + bytes.length);
    assert(end >= 0, text);
    taken++;
    // The JavaScript twin gives Python's bytes; emit must give the same for the hash to match.
    const out = new Uint8Array(bytes.length);
    assertEquals(
      dec.decode(out.subarray(0, runOps(scanner.ops, 0, scanner.opWords, buf, out, 0))),
      canonicalJsonWithout(entry, "hash"),
    );
    hasher.addScanned(line, scanner);
    at += bytes.length;
  }
  hasher.flush();
  assertEquals(taken, 3000);
  assertEquals(found.sort((a, b) => a - b), expected);
});

Deno.test("a line scanned outside the hasher's memory, or with the scanner's own ops, is copied in and checked alike", () => {
  const hasher = new BatchHasher({ readBufferBytes: 4096 });
  const found: number[] = [];
  hasher.onMismatch = (line) => found.push(line);
  const entry = { detail: "outside", violation: { id: "x", b: 1, a: 2 } };
  const right = hex(ascii(canonicalJsonWithout(entry, "hash")));
  const lines = [right, "f".repeat(64)].map((h) => ascii(pythonDumps({ ...entry, hash: h })));
  const own = new LineScanner();
  const inMemory = new LineScanner({ ops: hasher.ops, stop: hasher.stop });
  const [buf] = hasher.readBuffers();
  lines.forEach((bytes, i) => {
    // Outside: a plain array, with the hasher's ops.
    assert(inMemory.scan(bytes, 0, bytes.length) >= 0);
    hasher.addScanned(10 + i, inMemory);
    // Inside, with the scanner's own ops.
    buf.set(bytes);
    assert(own.scan(buf, 0, bytes.length) >= 0);
    hasher.addScanned(20 + i, own);
  });
  hasher.flush();
  assertEquals(found.sort((a, b) => a - b), [11, 21]);
});
