/**
 * Verify's hash checks, four lines a call ({@link Sha256x4}): each line's canonical form is
 * put, padded, into the hasher's memory and its stated hash decoded; every few dozen lines
 * they are hashed and compared, and only mismatches come back, to the checker, which files
 * them where a check in line order would have.
 *
 * The memory holds, besides the queue, the ops of a line scanner and two read buffers
 * ({@link BatchHasher.ops}, {@link BatchHasher.readBuffers}): a line read into one and
 * scanned has its canonical form written into the queue by the module's `emit`, with no
 * copy made in JavaScript. The memory never grows, so that those views stay valid (a read
 * may be under way into one): a line too long for the queue is hashed apart, at once.
 * @module
 */
import type { HashQueue } from "./chain.ts";
import { DEFAULT_OP_WORDS, type LineScanner } from "./_scan.ts";
import { asciiText } from "./_ids.ts";
import { paddedLength, sha256Hex, Sha256x4, type StopFn } from "./_sha256x4.ts";

/** Receives a line whose stated hash is not the hash of its content. */
export type MismatchFn = (line: number, stated: string, computed: string) => void;

const encoder = new TextEncoder();

// Lines held before they are hashed; a multiple of 4. Enough to make a call's set-up
// small beside its work, few enough that the copies stay in the cache.
const QUEUE = 64;
// The queue's bytes: a line whose padded form needs more is hashed apart.
const QUEUE_BYTES = 1 << 20;
// What emit may write past a line's bytes, and read past a read buffer's.
const SLACK = 64;
const PAGE = 64 * 1024;
// A hex digit's value, or 16 for anything else (upper case too: Python's hex is lower case,
// so a stated hash in upper case never matches).
const HEX_VALUE = new Uint8Array(256).fill(16);
for (let c = 0; c < 16; c++) HEX_VALUE["0123456789abcdef".charCodeAt(c)] = c;

/** Options for a {@link BatchHasher}. */
export interface BatchHasherOptions {
  /** The size of each of the two read buffers in its memory (default: none). */
  readBufferBytes?: number;
}

/** Hashes queued lines in fours; see the module doc. */
export class BatchHasher implements HashQueue {
  readonly #sha: Sha256x4;
  readonly #dataEnd: number;
  readonly #buffer: ArrayBufferLike;
  /** Where a scanner writes its ops, for {@link addScanned} to run here. */
  readonly ops: Int32Array;
  /** Finds the end of a string's plain run in this memory, for a scanner (see {@link StopFn}). */
  readonly stop: StopFn;
  readonly #readBuffers: [Uint8Array, Uint8Array];
  /** Receives each mismatch, later than its line was added. */
  onMismatch: MismatchFn = () => {};
  readonly #lines = new Int32Array(QUEUE);
  readonly #at = new Int32Array(QUEUE);
  readonly #blocks = new Int32Array(QUEUE);
  // Each stated hash as eight words, when it is 64 lower-case hex digits; else its text.
  readonly #stated = new Uint32Array(QUEUE * 8);
  readonly #odd: (string | undefined)[] = new Array(QUEUE).fill(undefined);
  #count = 0;
  #next = Sha256x4.DATA;

  /** Makes a hasher whose memory holds the queue, a scanner's ops and the read buffers. */
  constructor(opts: BatchHasherOptions = {}) {
    const readBytes = opts.readBufferBytes ?? 0;
    this.#dataEnd = Sha256x4.DATA + QUEUE_BYTES;
    const opsAt = this.#dataEnd + SLACK;
    const readAt = opsAt + 4 * DEFAULT_OP_WORDS;
    const size = readAt + 2 * (readBytes + SLACK);
    this.#sha = new Sha256x4(Math.ceil(size / PAGE));
    this.ops = this.#sha.words(opsAt, DEFAULT_OP_WORDS);
    this.stop = this.#sha.stop;
    this.#readBuffers = [
      this.#sha.bytes(readAt, readBytes),
      this.#sha.bytes(readAt + readBytes + SLACK, readBytes),
    ];
    this.#buffer = this.ops.buffer;
  }

  /** The size of the hasher's memory, in bytes. */
  get memoryBytes(): number {
    return this.#sha.size;
  }

  /** Two buffers in the hasher's memory to read lines into, for {@link addScanned}. */
  readBuffers(): [Uint8Array, Uint8Array] {
    return [this.#readBuffers[0], this.#readBuffers[1]];
  }

  /** Drops what is queued, unhashed (after a check that failed half-way). */
  clear(): void {
    this.#count = 0;
    this.#next = Sha256x4.DATA;
  }

  /**
   * Queues the check of the line `scan` read last: its canonical form is written here from
   * the scanner's ops when both they and the line are in this memory, else copied.
   */
  addScanned(line: number, scan: LineScanner): void {
    const src = scan.src;
    // The canonical form is no longer than the line; emit may write past it.
    const need = paddedLength(scan.lineLength) + SLACK;
    if (src.buffer !== this.#buffer || scan.ops !== this.ops || need > QUEUE_BYTES) {
      this.add(line, scan.canonical(), src, scan.hashStart, scan.hashEnd);
      return;
    }
    const i = this.#take(line, need);
    const n = this.#sha.emit(this.ops.byteOffset, scan.opWords, src.byteOffset, this.#next);
    // paddedLength(n) / 64, padded by emit.
    const blocks = (n + 72) >>> 6;
    this.#blocks[i] = blocks;
    this.#next += 64 * blocks;
    this.#keepStated(i, src, scan.hashStart, scan.hashEnd);
  }

  /** Queues one line's check; `canonical` and the stated hash `src[start, end)` are copied. */
  add(line: number, canonical: Uint8Array, src: Uint8Array, start: number, end: number): void {
    const need = paddedLength(canonical.length);
    if (need > QUEUE_BYTES) {
      this.#alone(line, sha256Hex(canonical), asciiText(src, start, end));
      return;
    }
    const i = this.#take(line, need);
    this.#blocks[i] = this.#sha.pad(this.#next, canonical);
    this.#next += need;
    this.#keepStated(i, src, start, end);
  }

  /** Queues one line's check from text: its canonical form and stated hash. */
  addText(line: number, canonical: string, stated: string): void {
    // Room for the most its UTF-8 can take (three bytes a UTF-16 unit).
    const need = paddedLength(3 * canonical.length);
    if (need > QUEUE_BYTES) {
      this.#alone(line, sha256Hex(canonical), stated);
      return;
    }
    const i = this.#take(line, need);
    const { blocks, bytes } = this.#sha.padText(this.#next, canonical);
    this.#blocks[i] = blocks;
    this.#next += bytes;
    const hash = encoder.encode(stated);
    this.#odd[i] = decodeHex(hash, 0, hash.length, this.#stated, i * 8) ? undefined : stated;
  }

  // A slot in the queue for `line`, with `need` bytes of room at #next (hashing what is
  // queued first if there is not).
  #take(line: number, need: number): number {
    if (this.#count === QUEUE || this.#next + need > this.#dataEnd) this.flush();
    const i = this.#count++;
    this.#lines[i] = line;
    this.#at[i] = this.#next;
    return i;
  }

  // Keeps slot i's stated hash src[start, end): as words, or as text when it is not hex.
  #keepStated(i: number, src: Uint8Array, start: number, end: number): void {
    this.#odd[i] = decodeHex(src, start, end, this.#stated, i * 8)
      ? undefined
      : asciiText(src, start, end);
  }

  // A line too long for the queue, hashed apart: a mismatch is reported now.
  #alone(line: number, computed: string, stated: string): void {
    if (stated !== computed) this.onMismatch(line, stated, computed);
  }

  /** Hashes and compares every queued line. */
  flush(): void {
    const sha = this.#sha;
    const at = this.#at;
    const blocks = this.#blocks;
    const stated = this.#stated;
    for (let i = 0; i < this.#count; i += 4) {
      const lanes = Math.min(4, this.#count - i);
      // Lanes past the end hash nothing (0 blocks).
      sha.hash4(
        at[i]!,
        blocks[i]!,
        at[i + 1]!,
        lanes > 1 ? blocks[i + 1]! : 0,
        at[i + 2]!,
        lanes > 2 ? blocks[i + 2]! : 0,
        at[i + 3]!,
        lanes > 3 ? blocks[i + 3]! : 0,
      );
      for (let k = 0; k < lanes; k++) {
        const q = i + k;
        let same = this.#odd[q] === undefined;
        for (let j = 0; same && j < 8; j++) same = sha.word(k, j) === stated[q * 8 + j];
        if (!same) {
          this.onMismatch(this.#lines[q]!, this.#odd[q] ?? statedHex(stated, q * 8), sha.hex(k));
        }
      }
    }
    this.clear();
  }
}

// Decodes 64 lower-case hex digits at src[start, end) into eight words at words[w];
// false for anything else.
function decodeHex(
  src: Uint8Array,
  start: number,
  end: number,
  words: Uint32Array,
  w: number,
): boolean {
  if (end - start !== 64) return false;
  for (let j = 0; j < 8; j++) {
    let word = 0;
    for (let c = start + 8 * j; c < start + 8 * j + 8; c++) {
      const v = HEX_VALUE[src[c]!]!;
      if (v === 16) return false;
      word = (word << 4) | v;
    }
    words[w + j] = word;
  }
  return true;
}

function statedHex(words: Uint32Array, w: number): string {
  let s = "";
  for (let j = 0; j < 8; j++) s += words[w + j]!.toString(16).padStart(8, "0");
  return s;
}
