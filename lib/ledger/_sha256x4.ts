/**
 * SHA-256 on the SIMD module of `_sha256_wasm.ts` (built ahead of time into
 * `_sha256_wasm_bytes.ts` by `deno task bundle-worker`): four messages a call, written padded
 * into the module's memory, or written there by the module's `emit` from a line scanner's
 * ops. One instance per thread; `sha256Hex` hashes one message on a shared one (a quarter
 * of the lanes, still about as fast as `node:crypto` for a ledger line, and without loading
 * it).
 * @module
 */
import { SHA256X4_WASM_BASE64 } from "./_sha256_wasm_bytes.ts";

const PAGE = 64 * 1024;
const encoder = new TextEncoder();
const HEX = "0123456789abcdef";

type Hash4 = (
  p0: number,
  n0: number,
  p1: number,
  n1: number,
  p2: number,
  n2: number,
  p3: number,
  n3: number,
  out: number,
) => void;

type Emit = (ops: number, words: number, src: number, out: number) => number;

/**
 * The module's `stop(at, end)`: the first byte at or after `at` in its memory that ends a
 * plain run of a JSON string (a quote, a backslash, a control character or a byte beyond
 * ASCII), or `end` if none comes before it. It may read up to 15 bytes past `end`.
 */
export type StopFn = (at: number, end: number) => number;

let compiled: WebAssembly.Module | undefined;

/** The bytes `n` bytes take once padded: a whole number of 64-byte blocks. */
export function paddedLength(n: number): number {
  return Math.ceil((n + 9) / 64) * 64;
}

/** Four SHA-256 digests a call; see the module doc. */
export class Sha256x4 {
  /** Where the four digests are written (word j of lane k at `OUT + 16 j + 4 k`). */
  static readonly OUT = 0;
  /** Where messages may be written from. */
  static readonly DATA = 128;
  #memory: WebAssembly.Memory;
  #hash4: Hash4;
  #emit: Emit;
  /** See {@link StopFn}: the module's own function, called straight from a scanner. */
  readonly stop: StopFn;
  #u8: Uint8Array;
  #u32: Uint32Array;

  /** Makes an instance whose memory starts at `pages` pages of 64 KiB (it grows as needed). */
  constructor(pages = 16) {
    compiled ??= new WebAssembly.Module(Uint8Array.fromBase64(SHA256X4_WASM_BASE64));
    const instance = new WebAssembly.Instance(compiled);
    this.#memory = instance.exports.mem as WebAssembly.Memory;
    this.#hash4 = instance.exports.hash4 as Hash4;
    this.#emit = instance.exports.emit as Emit;
    this.stop = instance.exports.stop as StopFn;
    if (pages > 1) this.#memory.grow(pages - 1);
    this.#u8 = new Uint8Array(this.#memory.buffer);
    this.#u32 = new Uint32Array(this.#memory.buffer);
  }

  /** The memory's size in bytes. */
  get size(): number {
    return this.#u8.length;
  }

  /** A view of `length` bytes of the memory at `at`: detached once the memory grows. */
  bytes(at: number, length: number): Uint8Array {
    return new Uint8Array(this.#memory.buffer, at, length);
  }

  /** A view of `count` 32-bit words of the memory at `at`: detached once the memory grows. */
  words(at: number, count: number): Int32Array {
    return new Int32Array(this.#memory.buffer, at, count);
  }

  /**
   * Writes at `out` the bytes that a line scanner's ops describe (`words` words at `ops`,
   * their spans in the source at `src`, all in this memory), padded as {@link pad} pads,
   * and returns how many there are before the padding. It may write up to 15 bytes past
   * the padding, and read up to 15 past a span.
   */
  emit(ops: number, words: number, src: number, out: number): number {
    return this.#emit(ops, words, src, out);
  }

  /** Grows the memory to at least `bytes` bytes, keeping what it holds. */
  reserve(bytes: number): void {
    if (bytes <= this.#u8.length) return;
    this.#memory.grow(Math.ceil((bytes - this.#u8.length) / PAGE));
    this.#u8 = new Uint8Array(this.#memory.buffer);
    this.#u32 = new Uint32Array(this.#memory.buffer);
  }

  /**
   * Writes `data` padded at `at` (which must have {@link paddedLength} bytes of room) and
   * returns its number of blocks.
   */
  pad(at: number, data: Uint8Array): number {
    this.#u8.set(data, at);
    return this.#padAfter(at, data.length);
  }

  /**
   * Writes `text`'s UTF-8 bytes padded at `at`, growing the memory as needed; returns its
   * number of blocks and the bytes it takes.
   */
  padText(at: number, text: string): { blocks: number; bytes: number } {
    // UTF-8 takes at most three bytes a UTF-16 unit.
    this.reserve(at + paddedLength(3 * text.length));
    const { written } = encoder.encodeInto(text, this.#u8.subarray(at));
    const blocks = this.#padAfter(at, written);
    return { blocks, bytes: blocks * 64 };
  }

  // Pads the `n` bytes at `at` (with paddedLength(n) bytes of room); returns its blocks.
  #padAfter(at: number, n: number): number {
    const u8 = this.#u8;
    const end = at + paddedLength(n);
    u8[at + n] = 0x80;
    u8.fill(0, at + n + 1, end - 4);
    // The length in bits, big-endian; the top bytes are zero below 512 MiB.
    const bits = n * 8;
    u8[end - 5] = Math.floor(bits / 2 ** 32) & 255;
    u8[end - 4] = (bits >>> 24) & 255;
    u8[end - 3] = (bits >>> 16) & 255;
    u8[end - 2] = (bits >>> 8) & 255;
    u8[end - 1] = bits & 255;
    return (end - at) / 64;
  }

  /** Hashes lane k's `nk` padded blocks at `pk`, for the four lanes; `nk = 0` leaves lane k out. */
  // The parameters are spelt out, as in Hash4: a rest parameter spread into the call cost 5 to
  // 10 % of verify's hashing.
  hash4(
    p0: number,
    n0: number,
    p1: number,
    n1: number,
    p2: number,
    n2: number,
    p3: number,
    n3: number,
  ): void {
    this.#hash4(p0, n0, p1, n1, p2, n2, p3, n3, Sha256x4.OUT);
  }

  /** Word `j` (0 to 7) of lane `k`'s last digest. */
  word(k: number, j: number): number {
    return this.#u32[(Sha256x4.OUT >> 2) + 4 * j + k]!;
  }

  /** Lane `k`'s last digest in lower-case hex. */
  hex(k: number): string {
    let s = "";
    for (let j = 0; j < 8; j++) {
      const w = this.word(k, j);
      for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(w >>> shift) & 15];
    }
    return s;
  }
}

let single: Sha256x4 | undefined;

/** Returns the lower-case hex SHA-256 of `data`: bytes, or the UTF-8 bytes of a string. */
export function sha256Hex(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  single ??= new Sha256x4(1);
  const at = Sha256x4.DATA;
  single.reserve(at + paddedLength(bytes.length));
  const n = single.pad(at, bytes);
  single.hash4(at, n, at, 0, at, 0, at, 0);
  return single.hex(0);
}
