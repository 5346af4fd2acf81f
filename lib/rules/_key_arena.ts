/**
 * Strings packed into one byte array, addressed by offset, so that a table of 100,000 of them
 * is not 100,000 objects on the V8 heap. Pure: no I/O.
 *
 * Each string is a block: its owner's number and its size (two 32-bit words), then its code
 * units, a byte each when all are under 256, otherwise two (little-endian), marked by a
 * negative length. Space is taken from the end; a removed string leaves a gap. When the end is
 * reached the live blocks slide down over the gaps, in place, and the array is resized only
 * when the live strings fill over three quarters of it or under a quarter: memory stays within
 * four times what is live (1.5 times after a resize), and a busy arena allocates nothing.
 * @module
 */

// The array's size is a whole number of these, at least one.
const STEP_BYTES = 4096;
// Header words of a block: the owner (-1 once released), then the bytes of the string.
const HEADER = 8;

/** Tells the arena's owner that the string it added for `owner` now lives at `offset`. */
export type Relocate = (owner: number, offset: number) => void;

/** A packed store of strings; its owner keeps each string's offset and (signed) length. */
export class KeyArena {
  #bytes = new Uint8Array(STEP_BYTES);
  #words = new Int32Array(this.#bytes.buffer);
  #end = 0;
  #live = 0;
  #arrays = 1;
  readonly #relocate: Relocate;

  /** Creates an empty arena; `relocate` is told where a string went when the arena compacts. */
  constructor(relocate: Relocate) {
    this.#relocate = relocate;
  }

  /** Bytes the arena holds (its array's size). */
  get capacity(): number {
    return this.#bytes.length;
  }

  /** Arrays allocated so far: the first, and one each time it grew or shrank. */
  get arrays(): number {
    return this.#arrays;
  }

  /** Bytes taken by live strings (with their headers). */
  get live(): number {
    return this.#live;
  }

  /** The length to keep for `s`: its length, negated when it needs two bytes a code unit. */
  static lengthOf(s: string): number {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return -s.length;
    return s.length;
  }

  /**
   * Stores `s` (whose length `lengthOf` gave) for `owner` (a number the owner chooses, at
   * least 0) and returns its offset. May compact first, moving other strings.
   */
  add(s: string, length: number, owner: number): number {
    const size = length < 0 ? -2 * length : length;
    const block = blockBytes(size);
    if (this.#end + block > this.#bytes.length) this.#compact(block);
    const bytes = this.#bytes;
    const at = this.#end;
    this.#words[at >> 2] = owner;
    this.#words[(at >> 2) + 1] = size;
    const data = at + HEADER;
    if (length >= 0) {
      for (let i = 0; i < size; i++) bytes[data + i] = s.charCodeAt(i);
    } else {
      for (let i = 0, o = data; i < s.length; i++, o += 2) {
        const c = s.charCodeAt(i);
        bytes[o] = c & 0xff;
        bytes[o + 1] = c >>> 8;
      }
    }
    this.#end += block;
    this.#live += block;
    return at;
  }

  /** Gives back the space of the string at `offset`, which the owner no longer keeps. */
  release(offset: number): void {
    this.#words[offset >> 2] = -1;
    this.#live -= blockBytes(this.#words[(offset >> 2) + 1]!);
  }

  /** Whether the string at `offset` with `length` is `s`. */
  equals(offset: number, length: number, s: string): boolean {
    const bytes = this.#bytes;
    const data = offset + HEADER;
    if (length >= 0) {
      if (s.length !== length) return false;
      for (let i = 0; i < length; i++) if (bytes[data + i] !== s.charCodeAt(i)) return false;
      return true;
    }
    if (s.length !== -length) return false;
    for (let i = 0, o = data; i < s.length; i++, o += 2) {
      if ((bytes[o]! | (bytes[o + 1]! << 8)) !== s.charCodeAt(i)) return false;
    }
    return true;
  }

  /** The string at `offset` with `length`. */
  read(offset: number, length: number): string {
    const data = offset + HEADER;
    if (length >= 0) {
      return String.fromCharCode.apply(null, this.#bytes.subarray(data, data + length) as never);
    }
    const units: number[] = [];
    for (let i = 0, o = data; i < -length; i++, o += 2) {
      units.push(this.#bytes[o]! | (this.#bytes[o + 1]! << 8));
    }
    return String.fromCharCode.apply(null, units);
  }

  // Slides the live blocks down over the gaps, then resizes the array when the live strings
  // (with `need` more) fill over three quarters of it, or under a quarter. Resizing transfers the
  // buffer, which frees the old one at once: a dropped one would wait for a full GC, which
  // an arena that makes no garbage on the V8 heap may not see for a long time.
  #compact(need: number): void {
    const bytes = this.#bytes;
    const words = this.#words;
    let to = 0;
    for (let from = 0; from < this.#end;) {
      const owner = words[from >> 2]!;
      const block = blockBytes(words[(from >> 2) + 1]!);
      if (owner >= 0) {
        // Blocks only move down, in order: none is overwritten before it has moved.
        if (to !== from) bytes.copyWithin(to, from, from + block);
        this.#relocate(owner, to);
        to += block;
      }
      from += block;
    }
    this.#end = to;
    this.#live = to;
    // Half as much again as the live strings need, in whole steps: room for a third of the
    // array's worth of new strings before the next compaction.
    const wanted = to + need;
    if (wanted > bytes.length * 0.75 || wanted * 4 < bytes.length) {
      const size = Math.max(1, Math.ceil(wanted * 1.5 / STEP_BYTES)) * STEP_BYTES;
      this.#bytes = new Uint8Array(bytes.buffer.transfer(size));
      this.#words = new Int32Array(this.#bytes.buffer);
      this.#arrays++;
    }
  }
}

// A block's bytes: the header and the string, rounded up to whole words.
function blockBytes(size: number): number {
  return (HEADER + size + 3) & ~3;
}
