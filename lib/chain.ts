/**
 * Checks ledger lines one at a time, as audit_stub's verify does, but records every
 * problem with its line number instead of stopping at the first. Pure.
 * @module
 */
import { canonicalJsonWithout, parsePythonJson, PyJsonSyntaxError } from "./pyjson.ts";
import { sha256Hex } from "./hash.ts";

/** The kinds of problem verification reports. */
export type ProblemKind =
  | "hash_mismatch"
  | "broken_link"
  | "missing_hash"
  | "not_json"
  | "not_object"
  | "not_utf8"
  | "torn_tail";

/** One problem on one line (1-based). */
export interface Problem {
  line: number;
  kind: ProblemKind;
  message: string;
}

/** Remarks that are not failures. */
export interface Note {
  line: number;
  message: string;
}

const GENESIS_VALUES = new Set(["0".repeat(64), "GENESIS"]);

/** Feeds lines in order; collects problems and notes. */
export class ChainChecker {
  /** Problems found so far. */
  readonly problems: Problem[] = [];
  /** Notes found so far. */
  readonly notes: Note[] = [];
  /** Problems found, including any not kept because of the cap. */
  problemCount = 0;
  /** Entries (non-blank lines) seen. */
  entries = 0;
  /** Blank lines skipped. */
  blankLines = 0;
  /** The hash of the last entry seen, as written in it. */
  head: string | undefined;

  #previous: { line: number; hash: string | undefined } | undefined;
  readonly #maxKept: number;

  /** `maxKept` caps how many problems are kept in memory (all are counted). */
  constructor(maxKept = 10_000) {
    this.#maxKept = maxKept;
  }

  /** Whether no problem has been found. */
  get ok(): boolean {
    return this.problemCount === 0;
  }

  #problem(line: number, kind: ProblemKind, message: string): void {
    this.problemCount++;
    if (this.problems.length < this.#maxKept) this.problems.push({ line, kind, message });
  }

  /** Reports a line whose bytes are not UTF-8. */
  badEncoding(line: number): void {
    this.entries++;
    this.#problem(line, "not_utf8", "the line is not valid UTF-8");
    this.#previous = { line, hash: undefined };
  }

  /**
   * Checks one line (without its newline). `unterminated` marks the last line of a
   * file that does not end with a newline: if it does not parse, it is a torn write.
   */
  check(line: number, text: string, unterminated = false): void {
    if (text.trim() === "") {
      this.blankLines++;
      return;
    }
    this.entries++;
    let value: unknown;
    try {
      value = parsePythonJson(text);
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
      this.#previous = { line, hash: undefined };
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.#problem(line, "not_object", "the line is JSON but not an object");
      this.#previous = { line, hash: undefined };
      return;
    }
    const entry = value as Record<string, unknown>;
    const stated = entry.hash;
    if (typeof stated !== "string") {
      this.#problem(line, "missing_hash", "the entry has no hash");
    } else {
      const actual = sha256Hex(canonicalJsonWithout(entry, "hash"));
      if (actual !== stated) {
        this.#problem(
          line,
          "hash_mismatch",
          `the hash does not match the content (stated ${stated}, computed ${actual})`,
        );
      }
    }
    this.#checkLink(line, entry);
    this.#previous = { line, hash: typeof stated === "string" ? stated : undefined };
    this.head = typeof stated === "string" ? stated : undefined;
  }

  #checkLink(line: number, entry: Record<string, unknown>): void {
    const link = "previous_hash" in entry ? entry.previous_hash : entry.prev_hash;
    const prev = this.#previous;
    if (prev === undefined) {
      if (typeof link === "string" && !GENESIS_VALUES.has(link)) {
        this.notes.push({
          line,
          message: `the first entry links to ${link}, not to a genesis value: ` +
            "the ledger starts from an anchor, or earlier lines were removed",
        });
      }
      return;
    }
    if (prev.hash === undefined) return; // already reported on the line before
    if (link === undefined) {
      this.#problem(line, "broken_link", "the entry has no previous_hash");
    } else if (link !== prev.hash) {
      this.#problem(
        line,
        "broken_link",
        `previous_hash does not match the hash of line ${prev.line} ` +
          `(links to ${String(link)}, line ${prev.line} has ${prev.hash}): ` +
          "a line was removed, inserted or changed",
      );
    }
  }
}
