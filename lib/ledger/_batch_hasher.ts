/**
 * Verify's hash checks, four lines a call ({@link Sha256x4}): each line's canonical form is
 * copied, padded, into the hasher's memory and its stated hash decoded; every few dozen
 * lines they are hashed and compared, and only mismatches come back, to the checker, which
 * files them where a check in line order would have.
 * @module
 */
import type { HashQueue } from "./chain.ts";
import { asciiText } from "./_ids.ts";
import { paddedLength, Sha256x4 } from "./_sha256x4.ts";

/** Receives a line whose stated hash is not the hash of its content. */
export type MismatchFn = (line: number, stated: string, computed: string) => void;

const encoder = new TextEncoder();

// Lines held before they are hashed; a multiple of 4. Enough to make a call's set-up
// small beside its work, few enough that the copies stay in the cache.
const QUEUE = 64;
// A hex digit's value, or 16 for anything else (upper case too: Python's hex is lower case,
// so a stated hash in upper case never matches).
const HEX_VALUE = new Uint8Array(256).fill(16);
for (let c = 0; c < 16; c++) HEX_VALUE["0123456789abcdef".charCodeAt(c)] = c;

/** Hashes queued lines in fours; see the module doc. */
export class BatchHasher implements HashQueue {
  readonly #sha = new Sha256x4();
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

  /** The size of the hasher's memory, in bytes. */
  get memoryBytes(): number {
    return this.#sha.size;
  }

  /** Drops what is queued, unhashed (after a check that failed half-way). */
  clear(): void {
    this.#count = 0;
    this.#next = Sha256x4.DATA;
  }

  /** Queues one line's check; `canonical` and the stated hash `src[start, end)` are copied. */
  add(line: number, canonical: Uint8Array, src: Uint8Array, start: number, end: number): void {
    const need = paddedLength(canonical.length);
    if (this.#count === QUEUE || this.#next + need > this.#sha.size) {
      this.flush();
      this.#sha.reserve(this.#next + need);
    }
    const i = this.#count++;
    this.#lines[i] = line;
    this.#at[i] = this.#next;
    this.#blocks[i] = this.#sha.pad(this.#next, canonical);
    this.#next += need;
    this.#odd[i] = decodeHex(src, start, end, this.#stated, i * 8)
      ? undefined
      : asciiText(src, start, end);
  }

  /** Queues one line's check from text: its canonical form and stated hash. */
  addText(line: number, canonical: string, stated: string): void {
    // Room for the most its UTF-8 can take (three bytes a UTF-16 unit): flushed first if the
    // memory would have to grow for it, as add() does.
    if (
      this.#count === QUEUE ||
      (this.#count > 0 && this.#next + paddedLength(3 * canonical.length) > this.#sha.size)
    ) {
      this.flush();
    }
    const i = this.#count++;
    this.#lines[i] = line;
    this.#at[i] = this.#next;
    const { blocks, bytes } = this.#sha.padText(this.#next, canonical);
    this.#blocks[i] = blocks;
    this.#next += bytes;
    const hash = encoder.encode(stated);
    this.#odd[i] = decodeHex(hash, 0, hash.length, this.#stated, i * 8) ? undefined : stated;
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
