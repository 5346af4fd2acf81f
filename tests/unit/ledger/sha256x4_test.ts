import { assert, assertEquals } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { paddedLength, sha256Hex, Sha256x4 } from "../../../lib/ledger/_sha256x4.ts";
import { sha256x4Module } from "../../../lib/ledger/_sha256_wasm.ts";
import { SHA256X4_WASM_BASE64 } from "../../../lib/ledger/_sha256_wasm_bytes.ts";

const nodeHex = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

// A reproducible byte stream (xorshift), so that a failure names the same messages again.
function bytesFrom(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

// Hashes four messages in one call, each written padded one after another.
function hashFour(sha: Sha256x4, msgs: Uint8Array[]): string[] {
  let at = Sha256x4.DATA;
  const lanes: number[] = [];
  for (const m of msgs) {
    sha.reserve(at + paddedLength(m.length));
    lanes.push(at, sha.pad(at, m));
    at += paddedLength(m.length);
  }
  while (lanes.length < 8) lanes.push(Sha256x4.DATA, 0);
  sha.hash4(...(lanes as [number, number, number, number, number, number, number, number]));
  return msgs.map((_, k) => sha.hex(k));
}

Deno.test("four lanes give node:crypto's digest for every length from 0 to 300 bytes, mixed in one call", () => {
  const sha = new Sha256x4(1);
  for (let n = 0; n <= 300; n++) {
    // Lengths around each block boundary meet in one call: 0, 55, 56, 63, 64, 119 ...
    const msgs = [n, (n * 7) % 301, (n * 13 + 55) % 301, 300 - n].map((len, k) =>
      bytesFrom(n * 4 + k + 1, len)
    );
    assertEquals(hashFour(sha, msgs), msgs.map(nodeHex), `lengths ${msgs.map((m) => m.length)}`);
  }
});

Deno.test("lanes of very different lengths do not disturb each other, and long messages hash right", () => {
  const sha = new Sha256x4(1);
  for (let round = 0; round < 20; round++) {
    const msgs = [1, 7000, 64 * (round + 1), 100_000 + round].map((len, k) =>
      bytesFrom(round * 10 + k + 1, len)
    );
    assertEquals(hashFour(sha, msgs), msgs.map(nodeHex));
  }
  // Known answers (FIPS 180-2): "abc", and the 56-byte two-block message.
  assertEquals(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex hashes a string as its UTF-8 bytes, and grows its memory for a long one", () => {
  for (const s of ["", "MO§ES", "é😀\u2028", "x".repeat(300_000)]) {
    assertEquals(sha256Hex(s), nodeHex(s));
    assertEquals(sha256Hex(new TextEncoder().encode(s)), nodeHex(s));
  }
});

Deno.test("a lane given no blocks is left out: the other lanes' digests are unchanged", () => {
  const sha = new Sha256x4(1);
  const m = bytesFrom(99, 200);
  const at = Sha256x4.DATA;
  const n = sha.pad(at, m);
  sha.hash4(at, 0, at, n, at, 0, at, 0);
  assertEquals(sha.hex(1), nodeHex(m));
  // Lane 0 holds SHA-256's initial value: no block went through it.
  assertEquals(sha.hex(0), "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19");
});

Deno.test("the module built ahead of time is the one _sha256_wasm.ts builds (else: deno task bundle-worker)", () => {
  const built = sha256x4Module(1);
  assert(WebAssembly.validate(built));
  assertEquals(Uint8Array.fromBase64(SHA256X4_WASM_BASE64), built);
});

Deno.test("stop finds the first quote, backslash, control or non-ASCII byte, or the end, 16 bytes a step", () => {
  const sha = new Sha256x4(1);
  const base = 4096;
  const bytes = sha.bytes(base, 4096);
  // Mostly plain bytes, so that runs cross several 16-byte steps.
  const noise = bytesFrom(42, 4096);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = noise[i]! % 9 === 0 ? noise[i]! : 0x61 + (noise[i]! % 26);
  }
  const isStop = (c: number) => c === 0x22 || c === 0x5c || c < 0x20 || c > 0x7f;
  for (let at = 0; at < 3000; at += 7) {
    for (const len of [0, 1, 15, 16, 17, 40, 300]) {
      let want = at;
      while (want < at + len && !isStop(bytes[want]!)) want++;
      assertEquals(sha.stop(base + at, base + at + len) - base, want, `at ${at}, ${len} bytes`);
    }
  }
  // Each kind of stop byte, at each place in a step.
  for (const c of [0x22, 0x5c, 0x00, 0x0a, 0x1f, 0x80, 0xff]) {
    for (let k = 0; k < 16; k++) {
      bytes.fill(0x61, 0, 64);
      bytes[3 + k] = c;
      assertEquals(sha.stop(base + 3, base + 60) - base, 3 + k);
    }
  }
  bytes.fill(0x7f, 0, 64);
  assertEquals(sha.stop(base, base + 64) - base, 64, "DEL is plain");
});
