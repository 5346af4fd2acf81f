/**
 * Finds ids written on more than one line of a ledger (two coordinators recording the
 * same violation, say) in bounded memory: each id is kept as a 64-bit hash and the line
 * it was first seen on, in a typed-array table (under 40 bytes an id); the id's text is kept only once it
 * turns up a second time.
 * @module
 */

/** An id (the `id` string of a top-level object field, as `violation.id`) on more than one line. */
export interface DuplicateId {
  /** The top-level field whose object holds the id. */
  field: string;
  /** The id itself. */
  id: string;
  /** The lines it is on, in order (at most the first 100). */
  lines: number[];
  /** How many lines it is on. */
  count: number;
}

/** Each id's first line, packed as triples: hash high, hash low, line (flagged with {@link SEEN_TWICE}). */
export type IdList = Int32Array<ArrayBuffer>;

/** Set on a first line whose id has been seen again. */
export const SEEN_TWICE = 1 << 31;
const LINE = 0x7fff_ffff;
const MAX_LINES = 100;
// Fuller than this, linear probes grow long; emptier, the table wastes memory (with this,
// 17 to 34 bytes an id).
const MAX_LOAD = 0.7;
/** Duplicate ids whose text and lines are kept; all are counted. */
export const MAX_DUPLICATES = 10_000;

// The last hash computed: a typed array, since numbers kept in module variables outside
// the small-integer range would be boxed on every store.
const HASH = new Int32Array(2);

// Two 32-bit lanes over `field`, a separator and `id`, two UTF-16 units a step, each
// finished with murmur3's mix: 64 bits make a false match unlikely below billions of ids
// (about 3e-6 at 10 million).
function hashKey(field: string, id: string): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  let n = field.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const c = field.charCodeAt(i) | (field.charCodeAt(i + 1) << 16);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // The odd unit, or a separator no UTF-16 unit equals, so ("ab", "c") and ("a", "bc") differ.
  let c = i < n ? field.charCodeAt(i) | 0x1f0000 : 0x2f0000;
  a = Math.imul(a ^ c, 0x01000193);
  b = Math.imul(b ^ c, 0x5bd1e995);
  b ^= b >>> 15;
  n = id.length;
  for (i = 0; i + 1 < n; i += 2) {
    c = id.charCodeAt(i) | (id.charCodeAt(i + 1) << 16);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  c = i < n ? id.charCodeAt(i) | 0x1f0000 : 0x2f0000;
  a = Math.imul(a ^ c, 0x01000193);
  b = Math.imul(b ^ c, 0x5bd1e995);
  HASH[0] = fmix(a);
  HASH[1] = fmix(b ^ (b >>> 15));
}

// hashKey over ASCII bytes: the same hash as hashKey gives for the same text, since each
// ASCII byte is its UTF-16 unit.
function hashKeyBytes(src: Uint8Array, fs: number, fe: number, is: number, ie: number): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  let i = fs;
  for (; i + 1 < fe; i += 2) {
    const c = src[i]! | (src[i + 1]! << 16);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  let c = i < fe ? src[i]! | 0x1f0000 : 0x2f0000;
  a = Math.imul(a ^ c, 0x01000193);
  b = Math.imul(b ^ c, 0x5bd1e995);
  b ^= b >>> 15;
  for (i = is; i + 1 < ie; i += 2) {
    c = src[i]! | (src[i + 1]! << 16);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  c = i < ie ? src[i]! | 0x1f0000 : 0x2f0000;
  a = Math.imul(a ^ c, 0x01000193);
  b = Math.imul(b ^ c, 0x5bd1e995);
  HASH[0] = fmix(a);
  HASH[1] = fmix(b ^ (b >>> 15));
}

/** The text of ASCII bytes `src[start, end)`. */
export function asciiText(src: Uint8Array, start: number, end: number): string {
  // One call makes a flat string (a hash's 64 bytes: a third of the time of the loop, whose
  // string is a rope until read); the loop keeps a long one off the stack.
  if (end - start <= 256) {
    return String.fromCharCode.apply(null, src.subarray(start, end) as unknown as number[]);
  }
  let out = "";
  for (let i = start; i < end; i++) out += String.fromCharCode(src[i]!);
  return out;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The key of an id among the duplicates. */
export function idKey(field: string, id: string): string {
  hashKey(field, id);
  return `${HASH[0]}:${HASH[1]}`;
}

/**
 * An open-addressing table from a 64-bit hash to a line (0: empty slot). A slot's three
 * words sit side by side, so that a probe touches one cache line.
 */
export class IdTable {
  #slots: Int32Array<ArrayBuffer>;
  #mask: number;
  #size = 0;

  /** `expected` ids fit without the table growing. */
  constructor(expected = 0) {
    let capacity = 4096;
    while (capacity * MAX_LOAD < expected) capacity *= 2;
    this.#slots = new Int32Array(capacity * 3);
    this.#mask = capacity - 1;
  }

  /** Ids held. */
  get size(): number {
    return this.#size;
  }

  /** The line in the hash's first slot, read only to bring that slot into the cache. */
  touch(hi: number, lo: number): number {
    return this.#slots[this.#home(hi, lo) * 3 + 2]!;
  }

  // The slot where a hash's probe starts.
  #home(hi: number, lo: number): number {
    return (lo ^ Math.imul(hi, 0x9e3779b1)) & this.#mask;
  }

  /** The slot holding the hash, or the empty slot where it belongs. */
  slot(hi: number, lo: number): number {
    const t = this.#slots;
    const mask = this.#mask;
    let i = this.#home(hi, lo);
    while (t[i * 3 + 2] !== 0 && (t[i * 3 + 1] !== lo || t[i * 3] !== hi)) i = (i + 1) & mask;
    return i;
  }

  /** The line in `slot` (0 when empty), with its flag. */
  lineAt(slot: number): number {
    return this.#slots[slot * 3 + 2]!;
  }

  /** Sets the line in an occupied `slot`. */
  setLine(slot: number, line: number): void {
    this.#slots[slot * 3 + 2] = line;
  }

  /** Puts the hash with its line in the empty `slot` that {@link slot} gave. */
  insert(slot: number, hi: number, lo: number, line: number): void {
    const t = this.#slots;
    t[slot * 3] = hi;
    t[slot * 3 + 1] = lo;
    t[slot * 3 + 2] = line;
    if (++this.#size > (this.#mask + 1) * MAX_LOAD) this.#grow();
  }

  /** The ids held, packed (for passing from a worker). */
  list(): IdList {
    const t = this.#slots;
    const out = new Int32Array(this.#size * 3);
    let j = 0;
    for (let i = 0; i < t.length; i += 3) {
      if (t[i + 2] === 0) continue;
      out[j++] = t[i]!;
      out[j++] = t[i + 1]!;
      out[j++] = t[i + 2]!;
    }
    return out;
  }

  #grow(): void {
    const old = this.list();
    this.#slots = new Int32Array(this.#slots.length * 2);
    this.#mask = this.#mask * 2 + 1;
    const t = this.#slots;
    for (let i = 0; i < old.length; i += 3) {
      const s = this.slot(old[i]!, old[i + 1]!) * 3;
      t[s] = old[i]!;
      t[s + 1] = old[i + 1]!;
      t[s + 2] = old[i + 2]!;
    }
  }
}

/** A duplicate id as it is being collected; `id` is unknown until read back from its line. */
export interface PendingDuplicate {
  /** The top-level field whose object holds the id, once read back. */
  field: string | undefined;
  /** The id itself, once read back. */
  id: string | undefined;
  /** The lines it is on, in order (at most the first 100). */
  lines: number[];
  /** How many lines it is on. */
  count: number;
}

/** Where an id and its field are in a line's ASCII bytes. */
export interface IdBytes {
  /** The line's bytes. */
  src: Uint8Array;
  /** The field's name (between its quotes). */
  fieldStart: number;
  /** The end of the field's name. */
  fieldEnd: number;
  /** The id's text (between its quotes). */
  idStart: number;
  /** The end of the id's text. */
  idEnd: number;
}

// Ids queued by queueBytes() before they are recorded together.
const QUEUED = 256;
// A queued id's words: hash high, hash low, line, field start, end, id start, end.
const QUEUED_WORDS = 7;

/** Collects the ids of a run of lines, and the ids seen on more than one of them. */
export class IdTracker {
  readonly #table: IdTable;
  readonly #duplicates: Map<string, PendingDuplicate> = new Map();
  #duplicateCount = 0;

  readonly #queued = new Int32Array(QUEUED * QUEUED_WORDS);
  #queuedCount = 0;
  #queuedSrc: Uint8Array = new Uint8Array(0);
  // Where touched slots' words go, so that the reads are not optimised away.
  #touched = 0;

  /** `expected` ids fit without the table growing (growing rehashes every id). */
  constructor(expected = 0) {
    this.#table = new IdTable(expected);
  }

  /** Each id's first line. */
  get table(): IdTable {
    this.flushQueued();
    return this.#table;
  }

  /** Ids seen again, by {@link idKey} (at most {@link MAX_DUPLICATES}). */
  get duplicates(): Map<string, PendingDuplicate> {
    this.flushQueued();
    return this.#duplicates;
  }

  /** Distinct ids seen on more than one line, including any not kept. */
  get duplicateCount(): number {
    this.flushQueued();
    return this.#duplicateCount;
  }

  /**
   * Records that the id in ASCII bytes `src[idStart, idEnd)` of the object in top-level
   * field `src[fieldStart, fieldEnd)` is on `line`, as {@link see} does for a parsed entry;
   * queued until {@link flushQueued}, which the caller runs before the bytes of `at.src` are
   * written over (the text of an id found repeated is read from them then). Ids are random,
   * each one's slot is a fetch from memory, and the fetches of a few hundred made together
   * overlap.
   */
  queueBytes(line: number, at: IdBytes): void {
    if (at.src !== this.#queuedSrc) {
      this.flushQueued();
      this.#queuedSrc = at.src;
    }
    hashKeyBytes(at.src, at.fieldStart, at.fieldEnd, at.idStart, at.idEnd);
    const q = this.#queued;
    const k = this.#queuedCount * QUEUED_WORDS;
    q[k] = HASH[0]!;
    q[k + 1] = HASH[1]!;
    q[k + 2] = line;
    q[k + 3] = at.fieldStart;
    q[k + 4] = at.fieldEnd;
    q[k + 5] = at.idStart;
    q[k + 6] = at.idEnd;
    if (++this.#queuedCount === QUEUED) this.flushQueued();
  }

  /** Records the ids {@link queueBytes} holds, in order. */
  flushQueued(): void {
    const n = this.#queuedCount * QUEUED_WORDS;
    if (n === 0) return;
    const q = this.#queued;
    const table = this.#table;
    let touched = 0;
    for (let k = 0; k < n; k += QUEUED_WORDS) touched |= table.touch(q[k]!, q[k + 1]!);
    this.#touched = touched;
    const src = this.#queuedSrc;
    for (let k = 0; k < n; k += QUEUED_WORDS) {
      HASH[0] = q[k]!;
      HASH[1] = q[k + 1]!;
      const dup = this.#record(q[k + 2]!);
      if (dup) {
        dup.field = asciiText(src, q[k + 3]!, q[k + 4]!);
        dup.id = asciiText(src, q[k + 5]!, q[k + 6]!);
      }
    }
    this.#queuedCount = 0;
  }

  /** Records that `entry`'s top-level objects with a string `id` are on `line`. */
  see(line: number, entry: Record<string, unknown>): void {
    this.flushQueued();
    for (const field in entry) {
      const value = entry[field];
      if (typeof value !== "object" || value === null) continue;
      const id = (value as { id?: unknown }).id;
      if (typeof id === "string") {
        hashKey(field, id);
        const dup = this.#record(line);
        if (dup) {
          dup.field = field;
          dup.id = id;
        }
      }
    }
  }

  // Records the id just hashed; returns a duplicate newly listed, whose text the caller fills in.
  #record(line: number): PendingDuplicate | undefined {
    const hi = HASH[0]!;
    const lo = HASH[1]!;
    const table = this.#table;
    const slot = table.slot(hi, lo);
    const first = table.lineAt(slot);
    if (first === 0) {
      table.insert(slot, hi, lo, line);
      return undefined;
    }
    const key = `${hi}:${lo}`;
    let added: PendingDuplicate | undefined;
    if ((first & SEEN_TWICE) === 0) {
      table.setLine(slot, first | SEEN_TWICE);
      this.#duplicateCount++;
      if (this.#duplicates.size < MAX_DUPLICATES) {
        added = { field: undefined, id: undefined, lines: [first], count: 1 };
        this.#duplicates.set(key, added);
      }
    }
    const dup = this.#duplicates.get(key);
    if (dup) addLine(dup, line);
    return added;
  }
}

/** Adds a further line to a duplicate. */
export function addLine(dup: PendingDuplicate, line: number): void {
  dup.count++;
  keepLine(dup, line);
}

/** Lists a line of a duplicate already counted. */
export function keepLine(dup: PendingDuplicate, line: number): void {
  if (dup.lines.length < MAX_LINES) dup.lines.push(line);
}

/** The ids on one line, by {@link idKey}. */
export function idsOf(entry: Record<string, unknown>): Map<string, { field: string; id: string }> {
  const out = new Map<string, { field: string; id: string }>();
  for (const field in entry) {
    const value = entry[field];
    if (typeof value !== "object" || value === null) continue;
    const id = (value as { id?: unknown }).id;
    if (typeof id === "string") out.set(idKey(field, id), { field, id });
  }
  return out;
}

/** In order of their first line. */
export function byFirstLine(a: { lines: number[] }, b: { lines: number[] }): number {
  return a.lines[0]! - b.lines[0]!;
}

/** The line of a table entry, without its flag. */
export function lineOf(flagged: number): number {
  return flagged & LINE;
}
