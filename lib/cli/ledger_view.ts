/**
 * Reading the ledger for people: lines as entries or as invalid lines, filters, one
 * readable line per entry, and the last N lines read from the end in chunks.
 * @module
 */
import { entryTime } from "./time_spec.ts";

/** Why a line is not an entry. */
export type InvalidKind = "not_json" | "not_object" | "not_utf8" | "torn";

/** One ledger line, read. */
export type LedgerLine =
  | { line: number | undefined; entry: Record<string, unknown> }
  | { line: number | undefined; invalid: InvalidKind; text: string };

/** What `log` and `report` select entries by (all given ones must match). */
export interface EntryFilter {
  /** Epoch ms: entries at or after. */
  since?: number;
  /** Epoch ms: entries before or at. */
  until?: number;
  /** The action, exactly. */
  action?: string;
  /** The agent, exactly. */
  agent?: string;
  /** The conversation: the entry's own or that of an object in it (a finding's). */
  conversation?: string;
  /** The outcome, case-insensitively. */
  outcome?: string;
}

/** An entry's conversation: its own `conversation`, else that of a top-level object in it. */
export function conversationOf(entry: Record<string, unknown>): string | undefined {
  if (typeof entry.conversation === "string") return entry.conversation;
  for (const v of Object.values(entry)) {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const c = (v as Record<string, unknown>).conversation;
      if (typeof c === "string") return c;
    }
  }
  return undefined;
}

/** Whether `entry` passes every filter given. */
export function matches(entry: Record<string, unknown>, f: EntryFilter): boolean {
  if (f.action !== undefined && entry.action !== f.action) return false;
  if (f.agent !== undefined && entry.agent !== f.agent) return false;
  if (
    f.outcome !== undefined &&
    (typeof entry.outcome !== "string" || entry.outcome.toLowerCase() !== f.outcome.toLowerCase())
  ) return false;
  if (f.conversation !== undefined && conversationOf(entry) !== f.conversation) return false;
  if (f.since !== undefined || f.until !== undefined) {
    const t = entryTime(entry.timestamp);
    if (Number.isNaN(t)) return false;
    if (f.since !== undefined && t < f.since) return false;
    if (f.until !== undefined && t > f.until) return false;
  }
  return true;
}

/** Whether a filter on the entries' content is set (invalid lines have none to match). */
export function filtersContent(f: EntryFilter): boolean {
  return Object.values(f).some((v) => v !== undefined);
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads one line's bytes (without its newline); `unterminated` marks a last line without a
 * newline, which is a torn write when it does not parse. Undefined for a blank line.
 */
export function readLine(
  bytes: Uint8Array,
  line: number | undefined,
  unterminated: boolean,
): LedgerLine | undefined {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return { line, invalid: "not_utf8", text: new TextDecoder().decode(bytes) };
  }
  if (text.endsWith("\r")) text = text.slice(0, -1);
  if (text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { line, invalid: unterminated ? "torn" : "not_json", text };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { line, invalid: "not_object", text };
  }
  return { line, entry: value as Record<string, unknown> };
}

const INVALID_TEXT: Record<InvalidKind, string> = {
  not_json: "not valid: not JSON",
  not_object: "not valid: JSON but not an object",
  not_utf8: "not valid: not UTF-8",
  torn: "not valid: the last line is incomplete (a torn write)",
};

// Control characters (and the line and paragraph separators) would let a field forge an
// output line or move the cursor: they are shown escaped.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A field as one safe line of text. */
export function safe(v: unknown): string {
  const s = typeof v === "string" ? v : v === undefined || v === null ? "-" : JSON.stringify(v);
  return s.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const ANSI = {
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  green: "\x1b[32m",
  reset: "\x1b[0m",
};

function outcomeColour(outcome: string): string {
  const o = outcome.toUpperCase();
  if (/FAIL|BLOCK|DECLINE|ERROR/.test(o)) return ANSI.red;
  if (o === "PASS" || o === "OK" || o === "SUCCESS") return ANSI.green;
  return ANSI.yellow;
}

/** Shows an entry's time as `YYYY-MM-DD HH:MM:SS` (UTC, as written). */
export function shortTime(timestamp: unknown): string {
  if (typeof timestamp !== "string") return "-".padEnd(19);
  return safe(timestamp.slice(0, 19).replace("T", " ")).padEnd(19);
}

/** One readable line: time, agent, action, outcome, detail (colours when `colour`). */
export function formatLine(l: LedgerLine, opts: { colour: boolean; lineWidth?: number }): string {
  const c = (code: string, s: string) => opts.colour ? `${code}${s}${ANSI.reset}` : s;
  if ("invalid" in l) {
    const where = l.line === undefined ? "line ?" : `line ${l.line}`;
    const shown = l.text.length > 80 ? `${l.text.slice(0, 80)}…` : l.text;
    return c(ANSI.red, `${where}: ${INVALID_TEXT[l.invalid]}: ${safe(shown)}`);
  }
  const e = l.entry;
  const outcome = safe(e.outcome);
  return [
    c(ANSI.dim, shortTime(e.timestamp)),
    safe(e.agent).padEnd(14),
    c(ANSI.bold, safe(e.action).padEnd(20)),
    c(outcomeColour(outcome), outcome.padEnd(9)),
    safe(e.detail),
  ].join(" ");
}

/** One JSON object: the entry as written, or `{line, invalid, text}` for an invalid line. */
export function jsonLine(l: LedgerLine): string {
  if ("invalid" in l) {
    return JSON.stringify({ line: l.line ?? null, invalid: l.invalid, text: l.text });
  }
  return JSON.stringify(l.entry);
}

/** What reading from the end needs of a file. */
export type TailFile = Pick<Deno.FsFile, "seek" | "read">;

/** The last lines read from the end, oldest first, and what it cost. */
export interface Tail {
  /** The lines, oldest first; their `line` is counted from the end when `fromEnd` is set. */
  lines: LedgerLine[];
  /** For each line, how many lines after it (0 for the last line). */
  fromEnd: number[];
  /** Bytes read. */
  bytesRead: number;
}

const TAIL_CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * The last `n` lines of the first `size` bytes that pass `keep`, read backwards in chunks:
 * the file before them is not read. Their `line` is left undefined (see {@link countLines}).
 */
export async function readTail(
  file: TailFile,
  size: number,
  opts: { n: number; keep: (l: LedgerLine) => boolean },
): Promise<Tail> {
  const found: LedgerLine[] = [];
  const fromEnd: number[] = [];
  let pos = size;
  let carry = new Uint8Array(0);
  let bytesRead = 0;
  let index = 0; // lines seen from the end
  let last = true;
  const take = (bytes: Uint8Array, unterminated: boolean) => {
    const l = readLine(bytes, undefined, unterminated);
    if (l !== undefined && opts.keep(l)) {
      found.push(l);
      fromEnd.push(index);
    }
    index++;
  };
  while (found.length < opts.n && (pos > 0 || carry.length > 0)) {
    if (pos === 0) {
      take(carry, last && carry.length > 0);
      break;
    }
    const start = Math.max(0, pos - TAIL_CHUNK);
    const chunk = new Uint8Array(pos - start + carry.length);
    await file.seek(start, Deno.SeekMode.Start);
    let off = 0;
    while (off < pos - start) {
      const r = await file.read(chunk.subarray(off, pos - start));
      if (r === null) break;
      off += r;
    }
    bytesRead += off;
    chunk.set(carry, pos - start);
    pos = start;
    let end = chunk.length;
    if (last) {
      // A file that ends with a newline has no line after it.
      if (chunk[end - 1] === NEWLINE) end--;
      else if (end > 0) {
        const nl = chunk.lastIndexOf(NEWLINE, end - 1);
        if (nl < 0 && pos > 0) {
          carry = chunk;
          continue;
        }
        take(chunk.subarray(nl + 1, end), true);
        end = nl;
      }
      last = false;
      if (end < 0) break;
    }
    while (found.length < opts.n) {
      const nl = end > 0 ? chunk.lastIndexOf(NEWLINE, end - 1) : -1;
      if (nl < 0) break;
      take(chunk.subarray(nl + 1, end), false);
      end = nl;
    }
    carry = chunk.slice(0, Math.max(0, end));
    if (found.length >= opts.n) break;
  }
  found.reverse();
  fromEnd.reverse();
  return { lines: found, fromEnd, bytesRead };
}

/** The number of lines in the first `size` bytes (a last line without a newline counts). */
export async function countLines(file: TailFile, size: number): Promise<number> {
  await file.seek(0, Deno.SeekMode.Start);
  const buf = new Uint8Array(1 << 20);
  let lines = 0;
  let read = 0;
  let lastByte = NEWLINE;
  while (read < size) {
    const r = await file.read(buf.subarray(0, Math.min(buf.length, size - read)));
    if (r === null) break;
    for (let i = buf.indexOf(NEWLINE); i >= 0 && i < r; i = buf.indexOf(NEWLINE, i + 1)) lines++;
    read += r;
    lastByte = buf[r - 1]!;
  }
  return lastByte === NEWLINE ? lines : lines + 1;
}

/** Splits bytes at newlines; calls `each` for each whole line; returns the partial rest. */
export function splitLines(
  data: Uint8Array,
  each: (bytes: Uint8Array) => void,
): Uint8Array {
  let start = 0;
  for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
    each(data.subarray(start, nl));
    start = nl + 1;
  }
  return data.slice(start);
}
