/**
 * Checks ledger lines one at a time, as audit_stub's verify does, but records every
 * problem with its line number instead of stopping at the first. Pure.
 * @module
 */
import {
  canonicalJsonWithout,
  fastCanonicalWithout,
  parsePythonJson,
  PyJsonSyntaxError,
} from "./pyjson.ts";
import { sha256Hex } from "./_sha256x4.ts";
import { asciiText, type IdBytes, IdTracker } from "./_ids.ts";
import type { LineScanner } from "./_scan.ts";

export type { IdBytes, IdTable, IdTracker, PendingDuplicate } from "./_ids.ts";
export type { LineScanner } from "./_scan.ts";

/** The kinds of problem verification reports. */
export type ProblemKind =
  | "hash_mismatch"
  | "broken_link"
  | "missing_hash"
  | "not_json"
  | "not_object"
  | "not_utf8"
  | "lone_surrogate"
  | "torn_tail";

/** One problem on one line (1-based). */
export interface Problem {
  /** The line, 1-based. */
  line: number;
  /** What kind of problem it is. */
  kind: ProblemKind;
  /** What is wrong, in one line. */
  message: string;
}

/** Remarks that are not failures. */
export interface Note {
  /** The line, 1-based. */
  line: number;
  /** The remark, in one line. */
  message: string;
}

const GENESIS_VALUES = new Set(["0".repeat(64), "GENESIS"]);
// Decoded UTF-8 holds no lone surrogate; only a \uD800-\uDFFF escape can make one.
const LONE_SURROGATE_HINT = /\\u[dD][89a-fA-F]/;

function wellFormed(v: unknown): boolean {
  if (typeof v === "string") return v.isWellFormed();
  if (typeof v !== "object" || v === null) return true;
  if (Array.isArray(v)) return v.every(wellFormed);
  return Object.entries(v).every(([k, x]) => k.isWellFormed() && wellFormed(x));
}

/**
 * Takes a line's hash check off {@link ChainChecker.checkScanned} or
 * {@link ChainChecker.check}: hashes the canonical form and compares it with the stated
 * hash, later, reporting a mismatch to {@link ChainChecker.hashMismatch}. Copies both
 * before returning.
 */
export interface HashQueue {
  /** Queues the check of the line the scanner read last (its canonical form and stated hash). */
  addScanned(line: number, scan: LineScanner): void;
  /** Queues one line's check, its canonical form and stated hash as text. */
  addText(line: number, canonical: string, stated: string): void;
}

/** Receives each entry that parses to an object, with its line (1-based). */
export type EntryFn = (line: number, entry: Record<string, unknown>) => void;

/** Feeds lines in order; collects problems and notes. */
export class ChainChecker {
  /** Problems found so far. */
  readonly problems: Problem[] = [];
  /** Notes found so far. */
  readonly notes: Note[] = [];
  /** Problems found, including any not kept because of the cap. */
  problemCount = 0;
  /** The last line with a problem, kept or not (0 for none). */
  lastProblemLine = 0;
  /** Entries (non-blank lines) seen. */
  entries = 0;
  /** Blank lines skipped. */
  blankLines = 0;
  #head: string | undefined;
  /** The ids of the entries seen (`violation.id` and the like), and those on more than one line. */
  readonly ids: IdTracker;

  /**
   * With `midChain`, the first entry seen: its link cannot be checked here (the line
   * before it is in another part of the file), so it is kept for whoever can.
   */
  firstEntry: { line: number; link: unknown; checkable: boolean } | undefined;

  #previous: EntryRef | undefined;
  // With a HashQueue, the last entry's stated hash is kept as bytes, and made a string only
  // when something needs it (a broken link, the head, the last entry): #prev() does.
  #pending = false;
  #statedBytes = new Uint8Array(64);
  #statedLen = 0;
  #statedLine = 0;
  readonly #maxKept: number;
  readonly #midChain: boolean;
  readonly #onEntry: EntryFn | undefined;
  readonly #idBytes: IdBytes = {
    src: new Uint8Array(0),
    fieldStart: 0,
    fieldEnd: 0,
    idStart: 0,
    idEnd: 0,
  };

  /**
   * `maxKept` caps how many problems are kept in memory (all are counted); `midChain`
   * says the lines start somewhere after the start of the ledger; `expectedIds` sizes the
   * table of ids up front; `onEntry` sees each entry as it is parsed (one parse serves both).
   */
  constructor(
    opts: { maxKept?: number; midChain?: boolean; expectedIds?: number; onEntry?: EntryFn } = {},
  ) {
    this.#onEntry = opts.onEntry;
    this.#maxKept = opts.maxKept ?? 10_000;
    this.#midChain = opts.midChain ?? false;
    this.ids = new IdTracker(opts.expectedIds);
  }

  /** The last entry seen: its line and stated hash. */
  get lastEntry(): EntryRef | undefined {
    return this.#prev();
  }

  /** The hash of the last entry seen, as written in it. */
  get head(): string | undefined {
    this.#prev();
    return this.#head;
  }

  #prev(): EntryRef | undefined {
    if (this.#pending) {
      this.#pending = false;
      const hash = asciiText(this.#statedBytes, 0, this.#statedLen);
      this.#previous = { line: this.#statedLine, hash };
      this.#head = hash;
    }
    return this.#previous;
  }

  /** Whether no problem has been found. */
  get ok(): boolean {
    return this.problemCount === 0;
  }

  #problem(line: number, kind: ProblemKind, message: string): void {
    this.problemCount++;
    if (line > this.lastProblemLine) this.lastProblemLine = line;
    if (this.problems.length < this.#maxKept) this.problems.push({ line, kind, message });
  }

  /**
   * Reports a hash mismatch found after later lines were checked (a {@link HashQueue}'s
   * result): it goes where a check in line order would have put it.
   */
  hashMismatch(line: number, stated: string, computed: string): void {
    this.problemCount++;
    if (line > this.lastProblemLine) this.lastProblemLine = line;
    const problems = this.problems;
    // After the line's lone surrogate, before its link: the order of a check in line order.
    let at = problems.length;
    while (at > 0) {
      const p = problems[at - 1]!;
      if (p.line < line || (p.line === line && p.kind !== "broken_link")) break;
      at--;
    }
    if (at >= this.#maxKept) return;
    problems.splice(at, 0, {
      line,
      kind: "hash_mismatch",
      message: `the hash does not match the content (stated ${stated}, computed ${computed})`,
    });
    if (problems.length > this.#maxKept) problems.pop();
  }

  /** Reports a line whose bytes are not UTF-8. */
  badEncoding(line: number): void {
    this.entries++;
    this.#problem(line, "not_utf8", "the line is not valid UTF-8");
    this.#unlinkable(line);
  }

  /**
   * Checks one line (without its newline). `unterminated` marks the last line of a
   * file that does not end with a newline: if it does not parse, it is a torn write. With
   * `hashes`, the hash check is left to it.
   */
  check(
    line: number,
    text: string,
    opts: { unterminated?: boolean; hashes?: HashQueue } = {},
  ): void {
    const { unterminated = false, hashes } = opts;
    if (text.trim() === "") {
      this.blankLines++;
      return;
    }
    this.entries++;
    let value: unknown;
    let canonical: string | undefined;
    try {
      const fast = fastCanonicalWithout(text, "hash");
      if (fast !== undefined) {
        value = fast.value;
        canonical = fast.canonical;
      } else {
        value = parsePythonJson(text);
      }
    } catch (err) {
      const where = err instanceof PyJsonSyntaxError ? err.message : "invalid JSON";
      if (unterminated) {
        this.#problem(
          line,
          "torn_tail",
          `the last line is incomplete (a torn write, not an edit): ${where}`,
        );
      } else {
        this.#problem(line, "not_json", `the line is not JSON: ${where}`);
      }
      this.#unlinkable(line);
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.#problem(line, "not_object", "the line is JSON but not an object");
      this.#unlinkable(line);
      return;
    }
    const entry = value as Record<string, unknown>;
    this.#onEntry?.(line, entry);
    this.ids.see(line, entry);
    // includes() first: a plain search, far cheaper than the pattern on every line.
    if (text.includes("\\u") && LONE_SURROGATE_HINT.test(text) && !wellFormed(entry)) {
      this.#problem(
        line,
        "lone_surrogate",
        "the entry holds a lone surrogate (a \\uD800-\\uDFFF escape without its pair): " +
          "Python cannot encode it to hash it, so audit_stub.py verify fails here",
      );
    }
    const stated = entry.hash;
    if (typeof stated !== "string") {
      this.#problem(line, "missing_hash", "the entry has no hash");
    } else if (hashes !== undefined) {
      hashes.addText(line, canonical ?? canonicalJsonWithout(entry, "hash"), stated);
    } else {
      const actual = sha256Hex(canonical ?? canonicalJsonWithout(entry, "hash"));
      if (actual !== stated) {
        this.#problem(
          line,
          "hash_mismatch",
          `the hash does not match the content (stated ${stated}, computed ${actual})`,
        );
      }
    }
    this.#checkLink(line, entryLink(entry));
    this.#pending = false;
    this.#previous = { line, hash: typeof stated === "string" ? stated : undefined };
    this.#head = typeof stated === "string" ? stated : undefined;
  }

  /**
   * Checks a line that `scan` has just read and described canonically (verify's fast path):
   * the same as {@link check} with the line's text, without parsing it. With `hashes`, the
   * hash check is left to it. Not for a checker with `onEntry`, which needs each entry as
   * an object.
   */
  checkScanned(line: number, scan: LineScanner, hashes?: HashQueue): void {
    if (this.#onEntry) {
      throw new Error("Cannot check a scanned line: onEntry needs the parsed entry");
    }
    this.entries++;
    const src = scan.src;
    const ids = scan.ids;
    for (let k = 0; k < scan.idCount * 4; k += 4) {
      this.#idBytes.src = src;
      this.#idBytes.fieldStart = ids[k]!;
      this.#idBytes.fieldEnd = ids[k + 1]!;
      this.#idBytes.idStart = ids[k + 2]!;
      this.#idBytes.idEnd = ids[k + 3]!;
      this.ids.queueBytes(line, this.#idBytes);
    }
    let stated: string | undefined;
    if (scan.hashStart < 0) {
      this.#problem(line, "missing_hash", "the entry has no hash");
    } else if (hashes !== undefined) {
      hashes.addScanned(line, scan);
      this.#linkScanned(line, scan);
      this.#keepStated(line, src, scan.hashStart, scan.hashEnd);
      return;
    } else {
      const actual = sha256Hex(scan.canonical());
      if (sameText(src, scan.hashStart, scan.hashEnd, actual)) {
        stated = actual;
      } else {
        stated = asciiText(src, scan.hashStart, scan.hashEnd);
        this.#problem(
          line,
          "hash_mismatch",
          `the hash does not match the content (stated ${stated}, computed ${actual})`,
        );
      }
    }
    this.#linkScanned(line, scan);
    this.#pending = false;
    this.#previous = { line, hash: stated };
    this.#head = stated;
  }

  // The usual case, a link to the hash before it, needs no string.
  #linkScanned(line: number, scan: LineScanner): void {
    const src = scan.src;
    let linked = false;
    if (scan.linkStart >= 0) {
      if (this.#pending) {
        linked = sameSpan(src, scan.linkStart, scan.linkEnd, this.#statedBytes, this.#statedLen);
      } else {
        const prev = this.#previous;
        linked = prev?.hash !== undefined && sameText(src, scan.linkStart, scan.linkEnd, prev.hash);
      }
    }
    if (!linked) {
      this.#checkLink(
        line,
        scan.linkStart < 0 ? undefined : asciiText(src, scan.linkStart, scan.linkEnd),
      );
    }
  }

  // Keeps the stated hash src[start, end) as the last entry's, without making a string.
  #keepStated(line: number, src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.#statedBytes.length < n) {
      this.#statedBytes = new Uint8Array(Math.max(n, 2 * this.#statedBytes.length));
    }
    const bytes = this.#statedBytes;
    for (let k = 0; k < n; k++) bytes[k] = src[start + k]!;
    this.#statedLen = n;
    this.#statedLine = line;
    this.#pending = true;
  }

  // A line with no usable content: the next line's link cannot be judged against it.
  #unlinkable(line: number): void {
    // Made a string first: the head stays that line's.
    const prev = this.#prev();
    if (this.#midChain && prev === undefined && this.firstEntry === undefined) {
      this.firstEntry = { line, link: undefined, checkable: false };
    }
    this.#previous = { line, hash: undefined };
  }

  #checkLink(line: number, link: unknown): void {
    const prev = this.#prev();
    if (prev === undefined) {
      if (this.#midChain) {
        this.firstEntry = { line, link, checkable: true };
        return;
      }
      const note = genesisNote(line, link);
      if (note) this.notes.push(note);
      return;
    }
    const problem = linkProblem(line, link, prev);
    if (problem) this.#problem(problem.line, problem.kind, problem.message);
  }
}

// Whether src[start, end) holds the first `n` bytes of `bytes`, and nothing more.
function sameSpan(src: Uint8Array, start: number, end: number, bytes: Uint8Array, n: number) {
  if (end - start !== n) return false;
  for (let i = 0; i < n; i++) if (src[start + i] !== bytes[i]) return false;
  return true;
}

// Whether ASCII bytes src[start, end) spell `text`.
function sameText(src: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (src[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** A line and the hash stated on it (undefined when it has none). */
export interface EntryRef {
  /** The line, 1-based. */
  line: number;
  /** The hash stated on it. */
  hash: string | undefined;
}

/** The link an entry states: `previous_hash`, or `prev_hash` for lineage entries. */
export function entryLink(entry: Record<string, unknown>): unknown {
  return "previous_hash" in entry ? entry.previous_hash : entry.prev_hash;
}

/** The note for a first entry that does not link to a genesis value, if it does not. */
export function genesisNote(line: number, link: unknown): Note | undefined {
  if (typeof link !== "string" || GENESIS_VALUES.has(link)) return undefined;
  return {
    line,
    message: `the first entry links to ${link}, not to a genesis value: ` +
      "the ledger starts from an anchor, or earlier lines were removed",
  };
}

const BROKEN_LINK =
  /^previous_hash does not match the hash of line (\d+) \(links to ([^]*), line \1 has ([^]*)\): /;

/**
 * `p` with its line, and the line a broken link names, `offset` lines further on: for a
 * problem found in a part of a ledger that starts after its first line.
 */
export function shiftProblem(p: Problem, offset: number): Problem {
  if (offset === 0) return p;
  const m = p.kind === "broken_link" ? BROKEN_LINK.exec(p.message) : null;
  if (m === null) return { ...p, line: p.line + offset };
  return {
    ...linkProblem(p.line + offset, m[2], { line: Number(m[1]) + offset, hash: m[3] })!,
  };
}

/** The problem with an entry on `line` linking to `link` after `prev`, if there is one. */
export function linkProblem(line: number, link: unknown, prev: EntryRef): Problem | undefined {
  if (prev.hash === undefined) return undefined; // already reported on the line before
  if (link === undefined) {
    return { line, kind: "broken_link", message: "the entry has no previous_hash" };
  }
  if (link === prev.hash) return undefined;
  return {
    line,
    kind: "broken_link",
    message: `previous_hash does not match the hash of line ${prev.line} ` +
      `(links to ${String(link)}, line ${prev.line} has ${prev.hash}): ` +
      "a line was removed, inserted or changed",
  };
}
