/**
 * Strings packed into one growing byte array, addressed by offset and length, so that a
 * table of 100,000 of them is not 100,000 objects on the V8 heap. Pure: no I/O.
 *
 * A string whose code units are all under 256 takes a byte each; any other takes two
 * (little-endian), marked by a negative length. Space is taken from the end; removed strings
 * only leave a gap, and when the end is reached the live strings are copied into a new array
 * twice their size, which also gives the gaps back: memory stays within about twice what is
 * live, whatever lengths come and go.
 * @module
 */

// Bytes of the first array.
const INITIAL_BYTES = 4096;

/**
 * Visits every live string of the arena's owner: `move` takes a string's offset and length
 * and returns its new offset, which the owner must store in place of the old one.
 */
export type Relocator = (move: (offset: number, length: number) => number) => void;

/** A packed store of strings; its owner keeps each string's offset and (signed) length. */
export class KeyArena {
  #bytes = new Uint8Array(INITIAL_BYTES);
  #end = 0;
  #live = 0;
  readonly #forEachLive: Relocator;

  /** Creates an empty arena; `forEachLive` lets it move the owner's strings when it compacts. */
  constructor(forEachLive: Relocator) {
    this.#forEachLive = forEachLive;
  }

  /** Bytes the arena holds (its array's size). */
  get capacity(): number {
    return this.#bytes.length;
  }

  /** Bytes of live strings. */
  get live(): number {
    return this.#live;
  }

  /** The length to keep for `s`: its length, negated when it needs two bytes a code unit. */
  static lengthOf(s: string): number {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return -s.length;
    return s.length;
  }

  /** Stores `s` (whose length `lengthOf` gave) and returns its offset. May compact first. */
  add(s: string, length: number): number {
    const size = length < 0 ? -2 * length : length;
    if (this.#end + size > this.#bytes.length) this.#compact(size);
    const bytes = this.#bytes;
    const at = this.#end;
    if (length >= 0) {
      for (let i = 0; i < size; i++) bytes[at + i] = s.charCodeAt(i);
    } else {
      for (let i = 0, o = at; i < s.length; i++, o += 2) {
        const c = s.charCodeAt(i);
        bytes[o] = c & 0xff;
        bytes[o + 1] = c >>> 8;
      }
    }
    this.#end += size;
    this.#live += size;
    return at;
  }

  /** Gives back the space of a string the owner no longer keeps. */
  release(length: number): void {
    this.#live -= length < 0 ? -2 * length : length;
  }

  /** Whether the string at `offset` with `length` is `s`. */
  equals(offset: number, length: number, s: string): boolean {
    const bytes = this.#bytes;
    if (length >= 0) {
      if (s.length !== length) return false;
      for (let i = 0; i < length; i++) if (bytes[offset + i] !== s.charCodeAt(i)) return false;
      return true;
    }
    if (s.length !== -length) return false;
    for (let i = 0, o = offset; i < s.length; i++, o += 2) {
      if ((bytes[o]! | (bytes[o + 1]! << 8)) !== s.charCodeAt(i)) return false;
    }
    return true;
  }

  /** The string at `offset` with `length`. */
  read(offset: number, length: number): string {
    if (length >= 0) {
      return String.fromCharCode.apply(
        null,
        this.#bytes.subarray(offset, offset + length) as never,
      );
    }
    const units: number[] = [];
    for (let i = 0, o = offset; i < -length; i++, o += 2) {
      units.push(this.#bytes[o]! | (this.#bytes[o + 1]! << 8));
    }
    return String.fromCharCode.apply(null, units);
  }

  // Copies the live strings into a new array twice their size (with room for `need` more).
  #compact(need: number): void {
    let size = INITIAL_BYTES;
    while (size < 2 * (this.#live + need)) size *= 2;
    const old = this.#bytes;
    const bytes = new Uint8Array(size);
    let end = 0;
    this.#forEachLive((offset, length) => {
      const n = length < 0 ? -2 * length : length;
      bytes.set(old.subarray(offset, offset + n), end);
      end += n;
      return end - n;
    });
    this.#bytes = bytes;
    this.#end = end;
    this.#live = end;
  }
}
