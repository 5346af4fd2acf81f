/**
 * Builds, byte by byte, a WebAssembly module that computes four SHA-256 digests at once
 * with 128-bit SIMD: each of the eight working variables holds the same variable of four
 * messages, one per 32-bit lane. Verify hashes one line after another, and `node:crypto`
 * costs about 1 to 2 µs a call whatever the length (a resource made and freed per call,
 * plus some 50 ms to load the module at start-up); four lines in one call of this code
 * cost about 0.1 µs per 64-byte block each (bench/RESULTS.md).
 *
 * The module exports `mem` (its memory) and `hash4(p0, n0, p1, n1, p2, n2, p3, n3, out)`:
 * lane k hashes the `nk` blocks at `pk`, already padded as SHA-256 pads a message (a 0x80
 * byte, zeros, the length in bits as 8 big-endian bytes, to a multiple of 64 bytes). A lane
 * with fewer blocks than another is left unchanged (masked) for the blocks it does not
 * have; `nk = 0` leaves it out. The digests are stored at `out` as eight vectors: word j of
 * lane k is the little-endian u32 at `out + 16 j + 4 k`.
 *
 * It also exports `emit(ops, words, src, out)`, which writes a line's canonical form, padded,
 * where it is then hashed, from the ops a line scanner describes it with (`_scan.ts`): 16
 * bytes a step, where JavaScript copied one; and `stop(at, end)`, which finds where the plain
 * run of a JSON string ends, 16 bytes a step, for the scanner.
 *
 * The code is generated rather than written out: 64 rounds, unrolled, with the working
 * variables renamed round by round instead of moved. (A loop of sixteen rounds, a third of
 * the code, is optimised sooner after start-up but ran 15 to 25 % slower over 200,000
 * lines.) `deno task bundle-worker` builds it ahead of time into `_sha256_wasm_bytes.ts`.
 * @module
 */

/** SHA-256's round constants (FIPS 180-4, 4.2.2). */
const K = [
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
];

/** SHA-256's initial hash value (FIPS 180-4, 5.3.3). */
const IV = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

// Value types and opcodes (WebAssembly core specification 2.0, binary format).
const I32 = 0x7f;
const V128 = 0x7b;
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i32Ctz: 0x68,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  return: 0x0f,
  i32And: 0x71,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  simd: 0xfd,
} as const;
// SIMD instructions, after the 0xfd prefix.
const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  i32x4Splat: 0x11,
  i8x16Eq: 0x23,
  i8x16LtS: 0x25,
  i8x16Bitmask: 0x64,
  i32x4ReplaceLane: 0x1c,
  i32x4GtS: 0x3b,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  load32Lane: 0x56,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
} as const;
const VOID_BLOCK = 0x40;
// Reverses the bytes of each 32-bit lane: message words are big-endian.
const BYTE_SWAP = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

/**
 * Writes bytes to a growing buffer. The module is made at start-up by code that runs once,
 * unoptimised: arrays spread into arrays took 60 ms there, writing in place takes a few.
 */
class Bytes {
  #buf = new Uint8Array(32 * 1024);
  length = 0;

  byte(b: number): void {
    if (this.length === this.#buf.length) {
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    this.#buf[this.length++] = b;
  }
  uleb(n: number): void {
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
  }
  sleb(n: number): void {
    while (true) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }
  bytes(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.byte(bytes[i]!);
  }
  /** What was written, as its own array. */
  done(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.length);
  }
}

// Locals: the nine parameters (p0 n0 p1 n1 p2 n2 p3 n3 out), then i32 and v128 locals.
const P = (k: number) => 2 * k;
const N = (k: number) => 2 * k + 1;
const OUT = 8;
const BLOCK = 9;
const MAX = 10;
const ADDR = (k: number) => 11 + k;
const I32_LOCALS = 6;
const H = (i: number) => 15 + i;
const WORK = 23; // a..h
const W = (j: number) => 31 + j;
const COUNTS = 47;
const MASK = 48;
const T1 = 49;
const V128_LOCALS = 35;

/** Emits the function's instructions. */
class Body {
  readonly out = new Bytes();

  op(op: number): void {
    this.out.byte(op);
  }
  simd(op: number): void {
    this.out.byte(OP.simd);
    this.out.uleb(op);
  }
  get(i: number): void {
    this.out.byte(OP.localGet);
    this.out.uleb(i);
  }
  set(i: number): void {
    this.out.byte(OP.localSet);
    this.out.uleb(i);
  }
  i32(n: number): void {
    this.out.byte(OP.i32Const);
    this.out.sleb(n | 0);
  }
  /** Opens a block, loop or if that leaves nothing on the stack. */
  begin(op: typeof OP.block | typeof OP.loop | typeof OP.if): void {
    this.out.byte(op);
    this.out.byte(VOID_BLOCK);
  }
  /** Branches (`br`, or `br_if` on the value on the stack) to the label `depth` out. */
  branch(op: typeof OP.br | typeof OP.brIf, depth: number): void {
    this.out.byte(op);
    this.out.uleb(depth);
  }
  /** Adds `n` to local `i`. */
  addTo(i: number, n: number): void {
    this.get(i);
    this.i32(n);
    this.op(OP.i32Add);
    this.set(i);
  }
  /**
   * A loop that runs `body` while `compare(local k, local limit)` is false, adding 16 to k
   * after each run.
   */
  step16(k: number, limit: number, compare: number, body: () => void): void {
    this.begin(OP.block);
    this.begin(OP.loop);
    this.get(k);
    this.get(limit);
    this.op(compare);
    this.branch(OP.brIf, 1);
    body();
    this.addTo(k, 16);
    this.branch(OP.br, 0);
    this.op(OP.end);
    this.op(OP.end);
  }
  /** Pushes a vector with `n` in each lane. */
  splat(n: number): void {
    this.simd(SIMD.const);
    for (let k = 0; k < 4; k++) {
      this.out.byte(n & 255);
      this.out.byte((n >>> 8) & 255);
      this.out.byte((n >>> 16) & 255);
      this.out.byte(n >>> 24);
    }
  }
  /** A memory access's alignment (log2) and offset. */
  memarg(align: number, offset: number): void {
    this.out.uleb(align);
    this.out.uleb(offset);
  }
  add(): void {
    this.simd(SIMD.i32x4Add);
  }
  xor(): void {
    this.simd(SIMD.xor);
  }
  /** Pushes local `x` rotated right by `n` bits, lane by lane. */
  rotr(x: number, n: number): void {
    this.get(x);
    this.i32(n);
    this.simd(SIMD.i32x4ShrU);
    this.get(x);
    this.i32(32 - n);
    this.simd(SIMD.i32x4Shl);
    this.simd(SIMD.or);
  }
  /** Pushes rotr(x, r1) ^ rotr(x, r2) ^ (x >>> s) or, with `third` a rotation, ^ rotr(x, s). */
  sigma(x: number, r1: number, r2: number, s: number, third: "rotate" | "shift"): void {
    this.rotr(x, r1);
    this.rotr(x, r2);
    this.xor();
    if (third === "rotate") {
      this.rotr(x, s);
    } else {
      this.get(x);
      this.i32(s);
      this.simd(SIMD.i32x4ShrU);
    }
    this.xor();
  }
}

// W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], in place of W[t-16].
function schedule(b: Body, t: number): void {
  const w = W(t % 16);
  b.sigma(W((t - 2) % 16), 17, 19, 10, "shift");
  b.get(W((t - 7) % 16));
  b.add();
  b.sigma(W((t - 15) % 16), 7, 18, 3, "shift");
  b.add();
  b.get(w);
  b.add();
  b.set(w);
}

// Round t on the working variables in locals `r` (a..h); returns where they are after it:
// instead of moving seven of them, the locals are renamed.
function round(b: Body, r: number[], t: number): number[] {
  const [x, y, z, d, e, f, g, h] = r as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]; Ch is bitselect(f, g, e).
  b.get(h);
  b.sigma(e, 6, 11, 25, "rotate");
  b.add();
  b.get(f);
  b.get(g);
  b.get(e);
  b.simd(SIMD.bitselect);
  b.add();
  b.splat(K[t]!);
  b.add();
  b.get(W(t % 16));
  b.add();
  b.set(T1);
  // The new e is d + T1, kept in d's local.
  b.get(d);
  b.get(T1);
  b.add();
  b.set(d);
  // The new a is T1 + Σ0(a) + Maj(a, b, c), kept in h's local; Maj is bitselect(c, b, a ^ b).
  b.sigma(x, 2, 13, 22, "rotate");
  b.get(z);
  b.get(y);
  b.get(x);
  b.get(y);
  b.xor();
  b.simd(SIMD.bitselect);
  b.add();
  b.get(T1);
  b.add();
  b.set(h);
  return [h, x, y, z, d, e, f, g];
}

function hash4Body(): Uint8Array {
  const b = new Body();
  // The most blocks any lane has, and each lane's count as a vector, for the mask.
  b.get(N(0));
  b.set(MAX);
  for (let k = 1; k < 4; k++) {
    b.get(N(k));
    b.get(MAX);
    b.get(N(k));
    b.get(MAX);
    b.op(OP.i32GtU);
    b.op(OP.select);
    b.set(MAX);
  }
  b.get(N(0));
  b.simd(SIMD.i32x4Splat);
  for (let k = 1; k < 4; k++) {
    b.get(N(k));
    b.simd(SIMD.i32x4ReplaceLane);
    b.out.byte(k);
  }
  b.set(COUNTS);
  for (let i = 0; i < 8; i++) {
    b.splat(IV[i]!);
    b.set(H(i));
  }
  b.i32(0);
  b.set(BLOCK);
  b.begin(OP.block);
  b.get(MAX);
  b.op(OP.i32Eqz);
  b.branch(OP.brIf, 0);
  b.begin(OP.loop);
  // Lanes with a block at this index; the others read their first block and keep their state.
  b.get(COUNTS);
  b.get(BLOCK);
  b.simd(SIMD.i32x4Splat);
  b.simd(SIMD.i32x4GtS);
  b.set(MASK);
  for (let k = 0; k < 4; k++) {
    b.get(P(k));
    b.get(BLOCK);
    b.i32(6);
    b.op(OP.i32Shl);
    b.op(OP.i32Add);
    b.get(P(k));
    b.get(BLOCK);
    b.get(N(k));
    b.op(OP.i32LtU);
    b.op(OP.select);
    b.set(ADDR(k));
  }
  for (let i = 0; i < 8; i++) {
    b.get(H(i));
    b.set(WORK + i);
  }
  // Word j of each lane's block into lane k of W[j] (align 2^2, offset 4j), then big-endian.
  for (let j = 0; j < 16; j++) {
    b.splat(0);
    for (let k = 0; k < 4; k++) {
      b.set(T1);
      b.get(ADDR(k));
      b.get(T1);
      b.simd(SIMD.load32Lane);
      b.memarg(2, 4 * j);
      b.out.byte(k);
    }
    b.set(T1);
    b.get(T1);
    b.get(T1);
    b.simd(SIMD.shuffle);
    b.out.bytes(BYTE_SWAP);
    b.set(W(j));
  }
  let r = Array.from({ length: 8 }, (_, i) => WORK + i);
  for (let t = 0; t < 64; t++) {
    if (t >= 16) schedule(b, t);
    r = round(b, r, t);
  }
  for (let i = 0; i < 8; i++) {
    b.get(H(i));
    b.get(r[i]!);
    b.add();
    b.get(H(i));
    b.get(MASK);
    b.simd(SIMD.bitselect);
    b.set(H(i));
  }
  b.get(BLOCK);
  b.i32(1);
  b.op(OP.i32Add);
  b.op(OP.localTee);
  b.out.uleb(BLOCK);
  b.get(MAX);
  b.op(OP.i32LtU);
  b.branch(OP.brIf, 0);
  b.op(OP.end);
  b.op(OP.end);
  for (let i = 0; i < 8; i++) {
    b.get(OUT);
    b.get(H(i));
    b.simd(SIMD.store);
    b.memarg(4, 16 * i);
  }
  b.op(OP.end);
  return b.out.done();
}

// emit's locals: its four parameters (ops, count, src, out), then i32 locals.
const E_OPS = 0;
const E_COUNT = 1;
const E_SRC = 2;
const E_OUT = 3;
const E_O = 4;
const E_END = 5;
const E_BACK = 6;
const E_BACK_END = 7;
const E_LIT = 8;
const E_FROM = 9;
const E_LEN = 10;
const E_K = 11;
const E_BASE = 12;
const EMIT_I32_LOCALS = 9;

/**
 * `emit(ops, count, src, out)`: writes the bytes a line scanner's ops describe (see
 * `_scan.ts`) at `out` and returns how many. An op is three i32s: a byte to write first (0
 * for none), then the source span [a, b) at `src` to copy; with a negative first word, ops
 * [a, b) of the same list, run in its place (one level deep). Copies go 16 bytes at a time
 * and may write up to 15 bytes past the end and read up to 15 past a span.
 */
function emitBody(): Uint8Array {
  const b = new Body();
  emitOps(b);
  emitPadding(b);
  b.get(E_LEN);
  b.op(OP.end);
  return b.out.done();
}

// Runs the ops: E_O ends where the message does.
function emitOps(b: Body): void {
  const load = (offset: number) => {
    b.op(OP.i32Load);
    b.memarg(2, offset);
  };
  b.get(E_OUT);
  b.set(E_O);
  b.get(E_OPS);
  b.set(E_BASE);
  b.get(E_OPS);
  b.get(E_COUNT);
  b.i32(2);
  b.op(OP.i32Shl);
  b.op(OP.i32Add);
  b.set(E_END);
  b.i32(0);
  b.set(E_BACK_END);
  b.begin(OP.block);
  b.begin(OP.loop);
  // At the end of the list: done, or back from a nested run.
  b.get(E_OPS);
  b.get(E_END);
  b.op(OP.i32GeU);
  b.begin(OP.if);
  b.get(E_BACK_END);
  b.op(OP.i32Eqz);
  b.branch(OP.brIf, 2);
  b.get(E_BACK);
  b.set(E_OPS);
  b.get(E_BACK_END);
  b.set(E_END);
  b.i32(0);
  b.set(E_BACK_END);
  b.branch(OP.br, 1);
  b.op(OP.end);
  b.get(E_OPS);
  load(0);
  b.set(E_LIT);
  b.get(E_OPS);
  load(4);
  b.set(E_FROM);
  b.get(E_OPS);
  load(8);
  b.get(E_FROM);
  b.op(OP.i32Sub);
  b.set(E_LEN);
  b.addTo(E_OPS, 12);
  // A nested run: ops [a, b) of the list, then back here.
  b.get(E_LIT);
  b.i32(0);
  b.op(OP.i32LtS);
  b.begin(OP.if);
  b.get(E_OPS);
  b.set(E_BACK);
  b.get(E_END);
  b.set(E_BACK_END);
  b.get(E_BASE);
  b.get(E_FROM);
  b.i32(2);
  b.op(OP.i32Shl);
  b.op(OP.i32Add);
  b.set(E_OPS);
  b.get(E_BASE);
  b.get(E_FROM);
  b.get(E_LEN);
  b.op(OP.i32Add);
  b.i32(2);
  b.op(OP.i32Shl);
  b.op(OP.i32Add);
  b.set(E_END);
  b.branch(OP.br, 1);
  b.op(OP.end);
  // The byte first, if any.
  b.get(E_LIT);
  b.begin(OP.if);
  b.get(E_O);
  b.get(E_LIT);
  b.op(OP.i32Store8);
  b.memarg(0, 0);
  b.addTo(E_O, 1);
  b.op(OP.end);
  // Then the span, 16 bytes a step.
  b.get(E_SRC);
  b.get(E_FROM);
  b.op(OP.i32Add);
  b.set(E_FROM);
  b.i32(0);
  b.set(E_K);
  b.step16(E_K, E_LEN, OP.i32GeS, () => {
    b.get(E_O);
    b.get(E_K);
    b.op(OP.i32Add);
    b.get(E_FROM);
    b.get(E_K);
    b.op(OP.i32Add);
    b.simd(SIMD.load);
    b.memarg(0, 0);
    b.simd(SIMD.store);
    b.memarg(0, 0);
  });
  b.get(E_O);
  b.get(E_LEN);
  b.op(OP.i32Add);
  b.set(E_O);
  b.branch(OP.br, 0);
  b.op(OP.end);
  b.op(OP.end);
}

function emitPadding(b: Body): void {
  // Padded as SHA-256 pads: 0x80, zeros to a multiple of 64 bytes less 8, then the length in
  // bits, big-endian. E_LEN: the length; E_END: the padded end; E_K: where zeros go next.
  b.get(E_O);
  b.get(E_OUT);
  b.op(OP.i32Sub);
  b.set(E_LEN);
  b.get(E_OUT);
  b.get(E_LEN);
  b.i32(72);
  b.op(OP.i32Add);
  b.i32(-64);
  b.op(OP.i32And);
  b.op(OP.i32Add);
  b.set(E_END);
  b.get(E_O);
  b.i32(0x80);
  b.op(OP.i32Store8);
  b.memarg(0, 0);
  b.get(E_O);
  b.i32(1);
  b.op(OP.i32Add);
  b.set(E_K);
  b.step16(E_K, E_END, OP.i32GeU, () => {
    b.get(E_K);
    b.splat(0);
    b.simd(SIMD.store);
    b.memarg(0, 0);
  });
  // The length's eight bytes, from E_END - 8 (offsets are unsigned). Its high word is below
  // 8 (messages are below 4 GiB): its last byte only; the rest are zeros already.
  b.get(E_END);
  b.i32(8);
  b.op(OP.i32Sub);
  b.set(E_END);
  for (const [shift, at] of [[29, 3], [21, 4], [13, 5], [5, 6]] as const) {
    b.get(E_END);
    b.get(E_LEN);
    b.i32(shift);
    b.op(OP.i32ShrU);
    b.op(OP.i32Store8);
    b.memarg(0, at);
  }
  b.get(E_END);
  b.get(E_LEN);
  b.i32(3);
  b.op(OP.i32Shl);
  b.op(OP.i32Store8);
  b.memarg(0, 7);
}

// stop's locals: its two parameters (at, end), then an i32 and a v128.
const S_AT = 0;
const S_END = 1;
const S_BITS = 2;
const S_V = 3;

/**
 * `stop(at, end)`: the first byte at or after `at` that ends a plain run of a JSON string
 * (a quote, a backslash, a control character or a byte beyond ASCII), or `end` if none
 * comes before it; 16 bytes a step (it may read up to 15 past `end`).
 */
function stopBody(): Uint8Array {
  const b = new Body();
  b.begin(OP.loop);
  b.get(S_AT);
  b.get(S_END);
  b.op(OP.i32GeU);
  b.begin(OP.if);
  b.get(S_END);
  b.op(OP.return);
  b.op(OP.end);
  b.get(S_AT);
  b.simd(SIMD.load);
  b.memarg(0, 0);
  b.set(S_V);
  // Quote or backslash, or (as signed bytes) below 0x20: control characters and non-ASCII.
  b.get(S_V);
  b.splat(0x22222222);
  b.simd(SIMD.i8x16Eq);
  b.get(S_V);
  b.splat(0x5c5c5c5c);
  b.simd(SIMD.i8x16Eq);
  b.simd(SIMD.or);
  b.get(S_V);
  b.splat(0x20202020);
  b.simd(SIMD.i8x16LtS);
  b.simd(SIMD.or);
  b.simd(SIMD.i8x16Bitmask);
  b.op(OP.localTee);
  b.out.uleb(S_BITS);
  b.begin(OP.if);
  // at + the first set bit, or end if that is past it.
  b.get(S_AT);
  b.get(S_BITS);
  b.op(OP.i32Ctz);
  b.op(OP.i32Add);
  b.set(S_BITS);
  b.get(S_BITS);
  b.get(S_END);
  b.get(S_BITS);
  b.get(S_END);
  b.op(OP.i32LtU);
  b.op(OP.select);
  b.op(OP.return);
  b.op(OP.end);
  b.addTo(S_AT, 16);
  b.branch(OP.br, 0);
  b.op(OP.end);
  b.get(S_END);
  b.op(OP.end);
  return b.out.done();
}

/** The module's bytes; its memory starts at `pages` pages of 64 KiB. */
export function sha256x4Module(pages: number): Uint8Array<ArrayBuffer> {
  const m = new Bytes();
  const section = (id: number, body: Bytes) => {
    m.byte(id);
    m.uleb(body.length);
    m.bytes(body.done());
  };
  m.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  // Three types: hash4's nine i32 parameters and no result; emit's four and an i32; stop's
  // two and an i32.
  const types = new Bytes();
  types.bytes([3, 0x60, 9]);
  for (let i = 0; i < 9; i++) types.byte(I32);
  types.byte(0);
  types.bytes([0x60, 4, I32, I32, I32, I32, 1, I32]);
  types.bytes([0x60, 2, I32, I32, 1, I32]);
  section(1, types);
  const funcs = new Bytes();
  funcs.bytes([3, 0, 1, 2]);
  section(3, funcs);
  const memory = new Bytes();
  memory.bytes([1, 0x00]);
  memory.uleb(pages);
  section(5, memory);
  const exports = new Bytes();
  exports.byte(4);
  for (
    const [name, kind, index] of [
      ["hash4", 0x00, 0],
      ["emit", 0x00, 1],
      ["stop", 0x00, 2],
      ["mem", 0x02, 0],
    ] as const
  ) {
    exports.uleb(name.length);
    for (let i = 0; i < name.length; i++) exports.byte(name.charCodeAt(i));
    exports.byte(kind);
    exports.byte(index);
  }
  section(7, exports);
  // Each body: its locals (groups of a count and a type), then the code.
  const hash4 = new Bytes();
  hash4.bytes([2]);
  hash4.uleb(I32_LOCALS);
  hash4.byte(I32);
  hash4.uleb(V128_LOCALS);
  hash4.byte(V128);
  hash4.bytes(hash4Body());
  const emit = new Bytes();
  emit.bytes([1]);
  emit.uleb(EMIT_I32_LOCALS);
  emit.byte(I32);
  emit.bytes(emitBody());
  const stop = new Bytes();
  stop.bytes([2, 1, I32, 1, V128]);
  stop.bytes(stopBody());
  const codeSection = new Bytes();
  codeSection.byte(3);
  for (const fn of [hash4, emit, stop]) {
    codeSection.uleb(fn.length);
    codeSection.bytes(fn.done());
  }
  section(10, codeSection);
  return m.done();
}
