/**
 * The fast path of verify: reads one ledger line as bytes and describes the canonical form
 * of its entry without `hash` (Python's `json.dumps(sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False)`) without building objects or strings. It handles only lines where
 * copying each value's raw text is sure to give Python's bytes: ASCII, integers, `true`,
 * `false`, `null`, strings whose escapes Python writes the same way, objects without
 * duplicate keys. It refuses anything else, and the caller takes the exact path.
 *
 * The canonical form is not written but described, as ops: spans of the line to copy in
 * order, each after at most one byte of punctuation (see {@link LineScanner.ops}). The
 * SHA-256 module's `emit` runs them in its own memory, 16 bytes a step, where the line is
 * hashed (`_batch_hasher.ts`); {@link LineScanner.canonical} runs them here. Copying byte by
 * byte in JavaScript was a quarter of the scanner's time. For a line in that memory, the
 * module's `stop` also skips the plain runs of strings, 16 bytes a step.
 * @module
 */

import type { StopFn } from "./_sha256x4.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
// Deeper lines are left to the exact path (which allows 1,000 levels).
const MAX_DEPTH = 32;
// A member on the stack: key start, key end (its closing quote), value start, value end,
// and flags. A top-level object or array is described as soon as it is read, in the second
// half of the ops: the range of its ops there stands for its value.
const STRIDE = 5;
/** Flag: the value is a string with escapes. */
const ESCAPED = 1;
/** Flag: the value is described already; its range of ops is in the value's place. */
const WRITTEN = 2;
/** An op's first word for a run of other ops (the second half's) in its place: never nested. */
export const RUN_OPS = -1;
/** The words of ops a scanner has room for unless given other room (a verify hasher's too). */
export const DEFAULT_OP_WORDS = 3 * 16 * 1024;
const NEWLINE = 0x0a;
// Bytes that end the plain run of a string: the quote, the backslash, control characters
// and anything beyond ASCII.
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  STRING_STOP[c] = c === QUOTE || c === BACKSLASH || c < 0x20 || c > 0x7f ? 1 : 0;
}

const HASH_KEY = bytesOf("hash");
const PREVIOUS_HASH_KEY = bytesOf("previous_hash");
const PREV_HASH_KEY = bytesOf("prev_hash");
const ID_KEY = bytesOf("id");
const TRUE = bytesOf("true");
const FALSE = bytesOf("false");
const NULL = bytesOf("null");

function bytesOf(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

// Whether the byte after a backslash at `j` starts an escape that Python writes back
// unchanged: \" \\ \b \f \n \r \t, and \u00XX in lower case for the other control
// characters. `\/`, other \u escapes and upper-case hex are refused (Python writes them
// differently).
function copyableEscape(src: Uint8Array, j: number): number {
  const e = src[j + 1];
  if (
    e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 ||
    e === 0x74
  ) return 2;
  if (e !== 0x75 || src[j + 2] !== ZERO || src[j + 3] !== ZERO) return 0;
  const hi = src[j + 4];
  const lo = src[j + 5]!;
  if (hi !== ZERO && hi !== 0x31) return 0;
  const low = lo >= ZERO && lo <= NINE ? lo - ZERO : lo >= 0x61 && lo <= 0x66 ? lo - 0x57 : -1;
  if (low < 0) return 0;
  const code = (hi === ZERO ? 0 : 16) + low;
  // \b \t \n \f \r: Python writes the short form.
  if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return 0;
  return 6;
}

/** Options for a {@link LineScanner}. */
export interface LineScannerOptions {
  /** Where the ops go (default: an array of its own); a line needing more words is refused. */
  ops?: Int32Array;
  /** A memory's stop function, used to read the strings of lines in the memory `ops` is in. */
  stop?: StopFn;
}

/** Reads ledger lines as bytes; see the module doc. Reused line after line. */
export class LineScanner {
  /** The bytes of the last line scanned. */
  src: Uint8Array = new Uint8Array(0);
  /** The stated hash's text (between its quotes) in {@link src}, or -1 without one. */
  hashStart: number = -1;
  /** The end of the stated hash's text. */
  hashEnd: number = -1;
  /** The link's text: `previous_hash`, or `prev_hash` without one; -1 without either. */
  linkStart: number = -1;
  /** The end of the link's text. */
  linkEnd: number = -1;
  /** Top-level objects with a string `id`, in line order: field start, end, id start, end. */
  ids: Int32Array = new Int32Array(4 * 8);
  /** How many ids {@link ids} holds. */
  idCount = 0;

  /**
   * The ops of the last line scanned, three words each: a byte to write first (0 for
   * none), then the span [a, b) of {@link src} to copy; or {@link RUN_OPS}, then the range
   * [a, b) of words of this array whose ops go in its place.
   */
  readonly ops: Int32Array;
  /** The words of {@link ops} that describe the last line scanned, from 0. */
  opWords = 0;
  /** The length of the last line scanned (no shorter than its canonical form). */
  lineLength = 0;

  #end = 0;
  // Written by canonical(): a plain array, not a Buffer (whose subarray() is a slow JS
  // override of the built-in one).
  #out: Uint8Array = new Uint8Array(8192);
  // The next op's first byte, until an op is written; 0 for none.
  #pending = 0;
  // Where ops go: the first half, or the second while a top-level value is described.
  #limit = 0;
  // Where the next top-level object or array is described, in the second half of ops.
  #aside = 0;
  #overflow = false;
  #stack = new Int32Array(STRIDE * 256);
  #top = 0;
  // The id of the object just written at depth 1: start and end of its text, or -1.
  #idStart = -1;
  #idEnd = -1;
  // Whether the last string read held an escape.
  #escaped = false;

  // The memory's stop function, for lines in the same memory as the ops; see the options.
  readonly #stop: StopFn | undefined;
  // Where the line's bytes start in that memory, or -1 when they are elsewhere.
  #base = -1;

  /** Makes a scanner; see {@link LineScannerOptions}. */
  constructor(opts: LineScannerOptions = {}) {
    this.ops = opts.ops ?? new Int32Array(DEFAULT_OP_WORDS);
    this.#stop = opts.stop;
  }

  /**
   * Scans the line at `start` in `src[start, end)` (lines end with a newline, or at `end`).
   * Returns the line's end (its newline, or `end`) when its canonical form is ready in
   * {@link ops}; -1 when the exact path must check the line (then where the line ends is
   * for the caller to find).
   */
  scan(src: Uint8Array, start: number, end: number): number {
    this.src = src;
    this.#end = end;
    this.#base = this.#stop !== undefined && src.buffer === this.ops.buffer ? src.byteOffset : -1;
    this.hashStart =
      this.hashEnd =
      this.linkStart =
      this.linkEnd =
        -1;
    this.idCount = 0;
    this.opWords = 0;
    this.#top = 0;
    this.#pending = 0;
    this.#overflow = false;
    // Whole ops in each half.
    this.#limit = 3 * Math.floor(this.ops.length / 6);
    this.#aside = this.#limit;
    let i = this.#ws(start);
    if (src[i] !== OPEN_BRACE) return -1;
    i = this.#object(i, 0);
    if (i < 0) return -1;
    this.#flushPending();
    i = this.#ws(i);
    if (this.#overflow || (i !== end && src[i] !== NEWLINE)) return -1;
    this.lineLength = i - start;
    return i;
  }

  /** The canonical form of the last line scanned (valid until the next scan). */
  canonical(): Uint8Array {
    // Never longer than the line: each byte written is one of the line's.
    if (this.#out.length < this.lineLength) {
      this.#out = new Uint8Array(Math.max(this.lineLength, 2 * this.#out.length));
    }
    const n = runOps(this.ops, 0, this.opWords, this.src, this.#out, 0);
    return this.#out.subarray(0, n);
  }

  #ws(i: number): number {
    const src = this.src;
    const end = this.#end;
    while (i < end) {
      const c = src[i];
      // Not the newline: it ends the line.
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
      i++;
    }
    return i;
  }

  // The end (after the closing quote) of the string at `i`, or -1 if it is not copyable.
  #string(i: number): number {
    const src = this.src;
    const end = this.#end;
    const base = this.#base;
    let j = i + 1;
    this.#escaped = false;
    while (j < end) {
      if (base >= 0) {
        // 16 bytes a step in the memory's own code, past the plain run.
        j = this.#stop!(base + j, base + end) - base;
        if (j >= end) return -1;
      }
      const c = src[j]!;
      if (STRING_STOP[c] === 0) {
        j++;
        continue;
      }
      if (c === QUOTE) return j + 1;
      // Raw control characters are not JSON; other bytes are left to the exact path.
      if (c < 0x20 || c > 0x7f) return -1;
      if (c === BACKSLASH) {
        const n = copyableEscape(src, j);
        if (n === 0) return -1;
        this.#escaped = true;
        j += n;
      } else {
        j++;
      }
    }
    return -1;
  }

  #literal(i: number, word: Uint8Array): number {
    const src = this.src;
    for (let k = 0; k < word.length; k++) if (src[i + k] !== word[k]) return -1;
    return i + word.length;
  }

  // An integer as Python writes it back: no fraction, no exponent, not -0.
  #integer(i: number): number {
    const src = this.src;
    let j = i;
    if (src[j] === MINUS) j++;
    const first = src[j]!;
    if (first < ZERO || first > NINE) return -1;
    j++;
    if (first === ZERO) {
      if (j === i + 2) return -1; // -0 is the int 0
    } else {
      while (j < this.#end && src[j]! >= ZERO && src[j]! <= NINE) j++;
    }
    const c = src[j];
    if (c === DOT || c === LOWER_E || c === UPPER_E) return -1;
    return j;
  }

  // The end of the value at `i`, checked but not written; -1 if it is not copyable.
  #skip(i: number, depth: number): number {
    const c = this.src[i];
    if (c === QUOTE) return this.#string(i);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) return this.#skipContainer(i, depth);
    if (c === 0x74) return this.#literal(i, TRUE);
    if (c === 0x66) return this.#literal(i, FALSE);
    if (c === 0x6e) return this.#literal(i, NULL);
    return this.#integer(i);
  }

  #skipContainer(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const src = this.src;
    const isObject = src[i] === OPEN_BRACE;
    const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
    i = this.#ws(i + 1);
    if (src[i] === close) return i + 1;
    while (true) {
      if (isObject) {
        if (src[i] !== QUOTE) return -1;
        i = this.#ws(this.#string(i));
        if (i < 0 || src[i] !== COLON) return -1;
        i = this.#ws(i + 1);
      }
      i = this.#skip(i, depth + 1);
      if (i < 0) return -1;
      i = this.#ws(i);
      const c = src[i];
      if (c === close) return i + 1;
      if (c !== COMMA) return -1;
      i = this.#ws(i + 1);
    }
  }

  // Describes the value at `i` canonically; returns its end, or -1.
  #value(i: number, depth: number): number {
    const c = this.src[i];
    if (c === OPEN_BRACE) return this.#object(i, depth);
    if (c === OPEN_BRACKET) return this.#array(i, depth);
    const end = this.#skip(i, depth);
    if (end >= 0) this.#copy(i, end);
    return end;
  }

  #op(first: number, a: number, b: number): void {
    const k = this.opWords;
    if (k + 3 > this.#limit) {
      this.#overflow = true;
      return;
    }
    const ops = this.ops;
    ops[k] = first;
    ops[k + 1] = a;
    ops[k + 2] = b;
    this.opWords = k + 3;
  }

  // An op copying src[from, to), after the pending byte.
  #copy(from: number, to: number): void {
    this.#op(this.#pending, from, to);
    this.#pending = 0;
  }

  // A byte to write: held for the next copy, which costs no op of its own then.
  #byte(c: number): void {
    this.#flushPending();
    this.#pending = c;
  }

  #flushPending(): void {
    if (this.#pending === 0) return;
    this.#op(this.#pending, 0, 0);
    this.#pending = 0;
  }

  #array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const src = this.src;
    this.#byte(OPEN_BRACKET);
    i = this.#ws(i + 1);
    if (src[i] === CLOSE_BRACKET) {
      this.#byte(CLOSE_BRACKET);
      return i + 1;
    }
    while (true) {
      i = this.#value(i, depth + 1);
      if (i < 0) return -1;
      i = this.#ws(i);
      const c = src[i];
      if (c === CLOSE_BRACKET) {
        this.#byte(CLOSE_BRACKET);
        return i + 1;
      }
      if (c !== COMMA) return -1;
      this.#byte(COMMA);
      i = this.#ws(i + 1);
    }
  }

  // Reads the members onto the stack, sorts them by key and describes them; -1 if refused.
  #object(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const base = this.#top;
    const end = this.#members(i, depth);
    if (end < 0) return -1;
    const top = this.#top;
    if (!this.#sortMembers(base, top)) return -1;
    if (depth === 0 && !this.#topLevel(base, top)) return -1;
    if (depth === 1 && !this.#findId(base, top)) return -1;
    const src = this.src;
    this.#byte(OPEN_BRACE);
    let first = true;
    for (let m = base; m < top; m += STRIDE) {
      // Nested objects may grow the stack: read it afresh.
      const ks = this.#stack[m]!;
      const ke = this.#stack[m + 1]!;
      if (depth === 0 && this.#keyIs(ks, ke, HASH_KEY)) continue;
      if (!first) this.#byte(COMMA);
      first = false;
      // The key and, when it follows at once (as Python writes it), the colon.
      if (src[ke + 1] === COLON) {
        this.#copy(ks - 1, ke + 2);
      } else {
        this.#copy(ks - 1, ke + 1);
        this.#byte(COLON);
      }
      if (this.#stack[m + 4] === WRITTEN) {
        this.#flushPending();
        this.#op(RUN_OPS, this.#stack[m + 2]!, this.#stack[m + 3]!);
      } else if (this.#value(this.#stack[m + 2]!, depth + 1) < 0) {
        return -1;
      }
    }
    this.#byte(CLOSE_BRACE);
    this.#top = base;
    return end;
  }

  // Pushes each member's key and value span; returns the end of the object, or -1.
  #members(i: number, depth: number): number {
    const src = this.src;
    i = this.#ws(i + 1);
    if (src[i] === CLOSE_BRACE) return i + 1;
    while (true) {
      if (src[i] !== QUOTE) return -1;
      const ks = i + 1;
      const afterKey = this.#string(i);
      // Keys are compared byte by byte: no escapes; no integer-like top-level keys (a
      // JS object would list them first, out of line order).
      if (afterKey < 0 || this.#escaped) return -1;
      if (depth === 0 && src[ks]! >= ZERO && src[ks]! <= NINE) return -1;
      i = this.#ws(afterKey);
      if (src[i] !== COLON) return -1;
      i = this.#ws(i + 1);
      const vs = i;
      const c = src[i];
      if (depth === 0 && (c === OPEN_BRACE || c === OPEN_BRACKET)) {
        // Described now, in the second half of the ops, to be run in place: read once, not
        // skipped and read again. (No op of the first half is written yet.)
        const words = this.opWords;
        const limit = this.#limit;
        this.opWords = this.#aside;
        this.#limit = this.ops.length;
        this.#idStart = -1;
        i = this.#value(i, 1);
        if (i < 0) return -1;
        this.#flushPending();
        this.#push(ks, afterKey - 1, this.#aside, this.opWords, WRITTEN);
        this.#aside = this.opWords;
        this.opWords = words;
        this.#limit = limit;
        if (this.#idStart >= 0) this.#addId(ks, afterKey - 1);
      } else {
        i = this.#skip(i, depth + 1);
        if (i < 0) return -1;
        this.#push(ks, afterKey - 1, vs, i, c === QUOTE && this.#escaped ? ESCAPED : 0);
      }
      i = this.#ws(i);
      const next = src[i];
      if (next === CLOSE_BRACE) return i + 1;
      if (next !== COMMA) return -1;
      i = this.#ws(i + 1);
    }
  }

  #push(ks: number, ke: number, vs: number, ve: number, escaped: number): void {
    if (this.#top + STRIDE > this.#stack.length) {
      const grown = new Int32Array(this.#stack.length * 2);
      grown.set(this.#stack);
      this.#stack = grown;
    }
    const s = this.#stack;
    const t = this.#top;
    s[t] = ks;
    s[t + 1] = ke;
    s[t + 2] = vs;
    s[t + 3] = ve;
    s[t + 4] = escaped;
    this.#top = t + STRIDE;
  }

  // Insertion sort by key bytes (ASCII here, so by code point as Python sorts); false on
  // a repeated key (Python keeps the last, JS too, but the exact path is surer).
  #sortMembers(base: number, top: number): boolean {
    const s = this.#stack;
    for (let m = base + STRIDE; m < top; m += STRIDE) {
      const ks = s[m]!;
      const ke = s[m + 1]!;
      const vs = s[m + 2]!;
      const ve = s[m + 3]!;
      const escaped = s[m + 4]!;
      let k = m - STRIDE;
      let cmp = 0;
      while (k >= base && (cmp = this.#compareKeys(s[k]!, s[k + 1]!, ks, ke)) > 0) {
        s[k + STRIDE] = s[k]!;
        s[k + STRIDE + 1] = s[k + 1]!;
        s[k + STRIDE + 2] = s[k + 2]!;
        s[k + STRIDE + 3] = s[k + 3]!;
        s[k + STRIDE + 4] = s[k + 4]!;
        k -= STRIDE;
      }
      if (k >= base && cmp === 0) return false;
      s[k + STRIDE] = ks;
      s[k + STRIDE + 1] = ke;
      s[k + STRIDE + 2] = vs;
      s[k + STRIDE + 3] = ve;
      s[k + STRIDE + 4] = escaped;
    }
    return true;
  }

  #compareKeys(as: number, ae: number, bs: number, be: number): number {
    const src = this.src;
    const n = Math.min(ae - as, be - bs);
    for (let k = 0; k < n; k++) {
      const d = src[as + k]! - src[bs + k]!;
      if (d !== 0) return d;
    }
    return (ae - as) - (be - bs);
  }

  #keyIs(ks: number, ke: number, key: Uint8Array): boolean {
    if (ke - ks !== key.length) return false;
    const src = this.src;
    for (let k = 0; k < key.length; k++) if (src[ks + k] !== key[k]) return false;
    return true;
  }

  // Finds the stated hash and the link; false where they are not plain strings.
  #topLevel(base: number, top: number): boolean {
    const s = this.#stack;
    let previous = -1;
    let prev = -1;
    for (let m = base; m < top; m += STRIDE) {
      const ks = s[m]!;
      const ke = s[m + 1]!;
      if (this.#keyIs(ks, ke, HASH_KEY)) {
        if (!this.#plainString(m)) return false;
        this.hashStart = s[m + 2]! + 1;
        this.hashEnd = s[m + 3]! - 1;
      } else if (this.#keyIs(ks, ke, PREVIOUS_HASH_KEY)) previous = m;
      else if (this.#keyIs(ks, ke, PREV_HASH_KEY)) prev = m;
    }
    const link = previous >= 0 ? previous : prev;
    if (link < 0) return true;
    if (!this.#plainString(link)) return false;
    this.linkStart = s[link + 2]! + 1;
    this.linkEnd = s[link + 3]! - 1;
    return true;
  }

  // Whether the member on the stack at `m` has a string value without escapes.
  #plainString(m: number): boolean {
    return this.#stack[m + 4] === 0 && this.src[this.#stack[m + 2]!] === QUOTE;
  }

  // Notes the `id` of the object at depth 1 whose members are on the stack, if it has a
  // string one; false for one with escapes (its bytes are not its text).
  #findId(base: number, top: number): boolean {
    const s = this.#stack;
    for (let m = base; m < top; m += STRIDE) {
      if (!this.#keyIs(s[m]!, s[m + 1]!, ID_KEY)) continue;
      if (s[m + 4] === WRITTEN || this.src[s[m + 2]!] !== QUOTE) return true;
      if (!this.#plainString(m)) return false;
      this.#idStart = s[m + 2]! + 1;
      this.#idEnd = s[m + 3]! - 1;
      return true;
    }
    return true;
  }

  // Records a top-level field's id (members are read in line order).
  #addId(ks: number, ke: number): void {
    if (this.idCount * 4 + 4 > this.ids.length) {
      const grown = new Int32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    const ids = this.ids;
    const k = this.idCount * 4;
    ids[k] = ks;
    ids[k + 1] = ke;
    ids[k + 2] = this.#idStart;
    ids[k + 3] = this.#idEnd;
    this.idCount++;
  }
}

/**
 * Runs ops [from, to) of `ops` (words) over `src`, writing at `out[at]`; returns where the
 * writing ended. The JavaScript twin of the SHA-256 module's `emit`, which runs one level of
 * {@link RUN_OPS} only, as the scanner writes them.
 */
export function runOps(
  ops: Int32Array,
  from: number,
  to: number,
  src: Uint8Array,
  out: Uint8Array,
  at: number,
): number {
  let o = at;
  for (let k = from; k < to; k += 3) {
    const first = ops[k]!;
    const a = ops[k + 1]!;
    const b = ops[k + 2]!;
    if (first === RUN_OPS) {
      o = runOps(ops, a, b, src, out, o);
      continue;
    }
    if (first !== 0) out[o++] = first;
    for (let j = a; j < b; j++) out[o++] = src[j]!;
  }
  return o;
}
