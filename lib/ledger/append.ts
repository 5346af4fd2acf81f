/**
 * Appending to the shared MO§ES ledger: exclusive `flock`, chain head read from the
 * end of the file under the lock, whole lines written, fsync, unlock.
 * @module
 */
import { canonicalJsonWithout, parsePythonJson, pythonDumps } from "./pyjson.ts";
import { sha256Hex } from "../util/mod.ts";
import { ENTRY_KEYS } from "../rules/mod.ts";
import type { EntryBody, TornTailCut } from "./entries.ts";
export type { TornTailCut } from "./entries.ts";
import {
  errorText,
  IrregularFileError,
  type IrregularReason,
  openRegularSync,
  parentDir,
  type RegularFile,
  writeAll,
  writeAllSync,
} from "../util/mod.ts";

/** `previous_hash` of the first line of a ledger. */
export const GENESIS_HASH: string = "0".repeat(64);

/** audit_stub's keys, in its order, before `previous_hash`. */
export const AUDIT_KEYS: readonly string[] = ENTRY_KEYS;

/** Why an append could not be made. */
export type LedgerErrorCode =
  | "symlink"
  | "not_regular"
  | "replaced"
  | "torn_tail"
  | "bad_head"
  | "line_too_long"
  | "abandoned"
  | "io";

/** An append that did not happen; nothing of it is in the file. */
export class LedgerError extends Error {
  /** Creates the error with a machine-readable code. */
  constructor(message: string, readonly code: LedgerErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = "LedgerError";
  }
}

/** A line ready to write: its hash and its text (with newline). */
export interface SealedLine {
  /** Hex SHA-256 of the entry's canonical JSON. */
  hash: string;
  /** The line as written, ending with a newline. */
  line: string;
}

/** A sealed entry: the object, its hash, and its line as written (with newline). */
export interface SealedEntry extends SealedLine {
  /** The entry, with its `previous_hash` and `hash`. */
  entry: Record<string, unknown>;
}

/** Makes an entry's line once the previous hash is known (under the lock). */
export type Sealer = (previousHash: string) => SealedLine;

/** Orders an entry's keys as audit_stub does, links it to `previousHash`, and hashes it. */
export function sealEntry(body: EntryBody, previousHash: string): SealedEntry {
  const entry: Record<string, unknown> = {};
  for (const key of AUDIT_KEYS) entry[key] = body[key] ?? null;
  entry.previous_hash = previousHash;
  for (const [key, value] of Object.entries(body)) {
    if (!(key in entry) && key !== "hash") entry[key] = value;
  }
  const hash = sha256Hex(canonicalJsonWithout(entry, "hash"));
  entry.hash = hash;
  return { entry, hash, line: pythonDumps(entry) + "\n" };
}

const TAIL_CHUNK = 64 * 1024;
const MAX_LINE = 16 * 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The last line of a ledger and whether the file ends with a newline. */
export interface LedgerTail {
  /** The last line, without its newline; undefined when the file has none. */
  lastLine: string | undefined;
  /** Byte offset where the last line starts (the file's size when there is none). */
  lastLineStart: number;
  /** Whether the file ends with a newline (true for an empty file). */
  endsWithNewline: boolean;
}

/** The part of a file {@link readTail} uses. */
export type TailReader = Pick<Deno.FsFile, "seekSync" | "readSync">;

/** Reads the last non-blank line by reading backwards from `size`; cost does not grow with the file. */
export function readTail(file: TailReader, size: number): LedgerTail {
  if (size === 0) return { lastLine: undefined, lastLineStart: 0, endsWithNewline: true };
  let buf = new Uint8Array(0);
  let pos = size;
  let endsWithNewline: boolean | undefined;
  // Most lines are well under 8 KiB: read that much first, then larger steps.
  let step = 8 * 1024;
  while (pos > 0) {
    const start = Math.max(0, pos - step);
    step = TAIL_CHUNK;
    const chunk = readAt(file, start, pos - start);
    const got = chunk.length;
    const joined = new Uint8Array(got + buf.length);
    joined.set(chunk, 0);
    joined.set(buf, got);
    buf = joined;
    pos = start;
    endsWithNewline ??= buf[buf.length - 1] === 0x0a;
    let end = buf.length;
    while (end > 0 && isBlank(buf[end - 1]!)) end--;
    if (end === 0) continue; // only blank lines so far
    const nl = buf.lastIndexOf(0x0a, end - 1);
    if (nl >= 0 || pos === 0) {
      return {
        lastLine: decoder.decode(buf.subarray(nl + 1, end)),
        lastLineStart: pos + nl + 1,
        endsWithNewline,
      };
    }
    if (buf.length > MAX_LINE) {
      throw new LedgerError(
        "Cannot append to ledger: its last line is longer than 16 MiB",
        "line_too_long",
      );
    }
  }
  return { lastLine: undefined, lastLineStart: size, endsWithNewline: endsWithNewline ?? true };
}

// Reads up to `length` bytes at `start` (fewer if the file ends first). Local reads of a
// few KiB are synchronous: see appendSealed.
function readAt(file: TailReader, start: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  file.seekSync(start, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return buf.subarray(0, got);
}

function isBlank(b: number): boolean {
  return b === 0x0a || b === 0x0d || b === 0x20 || b === 0x09;
}

/** Works out the chain head from the tail; says whether a newline must precede the next line. */
export function chainHead(tail: LedgerTail): { previousHash: string; needsNewline: boolean } {
  if (tail.lastLine === undefined) return { previousHash: GENESIS_HASH, needsNewline: false };
  let last: unknown;
  try {
    // Python writes NaN and Infinity, which JSON.parse refuses; the exact parser takes them.
    last = parsePythonJson(tail.lastLine);
  } catch {
    if (!tail.endsWithNewline) {
      throw new LedgerError(
        "Cannot append to ledger: its last line is incomplete (a torn write); " +
          "run `moses-coordinator verify` and repair the last line",
        "torn_tail",
      );
    }
    throw new LedgerError(
      "Cannot append to ledger: its last line is not JSON; run `moses-coordinator verify`",
      "bad_head",
    );
  }
  const hash = (last as { hash?: unknown } | null)?.hash;
  if (typeof hash !== "string" || hash === "") {
    throw new LedgerError(
      "Cannot append to ledger: its last line has no hash to link to; run `moses-coordinator verify`",
      "bad_head",
    );
  }
  return { previousHash: hash, needsNewline: !tail.endsWithNewline };
}

/** Callbacks around the lock, for a writer that must know when it may stop waiting. */
export interface AppendHooks {
  /** Asked once the lock is held: false abandons the append before anything is written. */
  proceed?: () => boolean;
  /** Called once the lock is held and the write is going ahead. */
  onLocked?: () => void;
  /**
   * Repairs a torn last line (a writer killed mid-line) instead of refusing it: the line is
   * copied aside, cut, and this entry, describing the cut, is written before the others.
   */
  recover?: (cut: TornTailCut) => EntryBody;
  /**
   * Fsyncs on this thread instead of in the background. While a gateway floods frames, a
   * background fsync's completion waits behind them (0.05 to 1.6 s was measured) and the
   * queue outgrows its bound. The price: a disk that stops answering during that fsync
   * holds the whole process until it answers.
   */
  fsyncInline?: boolean;
  /**
   * Monotonic milliseconds the fsync is timed with ({@link AppendResult.fsyncMs});
   * performance.now by default. Tests give a scripted one to play a slow disk.
   */
  monotonicNow?: () => number;
}

/** The result of one durable append. */
export interface AppendResult {
  /** Hashes of the lines written for the given entries, in order. */
  hashes: string[];
  /** How long the fsync took, in ms (0 when nothing was written). */
  fsyncMs?: number;
  /** Bytes added to the file. */
  bytes: number;
  /** A torn last line cut before the append, and the hash of the entry recording it. */
  recovered?: { cut: TornTailCut; hash: string };
}

/**
 * Appends entries as whole lines, chained to the current head, in one write and one
 * fsync under an exclusive lock. On any failure the file is cut back to its size
 * before the write, so no partial line is left, and a {@link LedgerError} is thrown.
 */
export function appendEntries(
  path: string,
  bodies: readonly EntryBody[],
  hooks: AppendHooks = {},
): Promise<AppendResult> {
  return appendSealed(path, bodies.map((body) => (prev: string) => sealEntry(body, prev)), hooks);
}

/**
 * {@link appendEntries} for entries that seal themselves: a writer with a faster serialiser
 * for its own entries gives the lines directly, hashed in order under the lock.
 *
 * Only the two steps that may wait are asynchronous: taking the lock (another writer may
 * hold it) and the fsync (a slow disk must not freeze the daemon; see
 * {@link AppendHooks.fsyncInline}). The rest are local syscalls of microseconds, made
 * synchronously: while a gateway floods frames, each asynchronous step waits behind a batch
 * of them, and ten such steps per group let the queue outgrow its bound.
 */
export async function appendSealed(
  path: string,
  sealers: readonly Sealer[],
  hooks: AppendHooks = {},
): Promise<AppendResult> {
  if (sealers.length === 0 && hooks.recover === undefined) return { hashes: [], bytes: 0 };
  let opened: RegularFile | undefined;
  try {
    // Recovery alone makes no ledger where there is none.
    opened = openRegularSync(path, {
      read: true,
      append: true,
      create: sealers.length > 0,
      mode: 0o600,
    });
  } catch (err) {
    if (err instanceof IrregularFileError) throw irregularError(path, err);
    throw ioError(path, err);
  }
  if (opened === undefined) return { hashes: [], bytes: 0 };
  const { file, created } = opened;
  try {
    await file.lock(true);
    if (hooks.proceed?.() === false) {
      throw new LedgerError("Append abandoned: the coordinator is stopping", "abandoned");
    }
    hooks.onLocked?.();
    let size = file.statSync().size;
    let tail = readTail(file, size);
    let head: ReturnType<typeof chainHead>;
    let recovered: AppendResult["recovered"];
    let tornBytes: Uint8Array | undefined;
    let text = "";
    try {
      head = chainHead(tail);
    } catch (err) {
      if (!(err instanceof LedgerError && err.code === "torn_tail" && hooks.recover)) throw err;
      // Under the exclusive lock no writer is mid-line: the torn line is a dead writer's.
      const { cut, bytes } = await cutTornTail(file, path, tail.lastLineStart, size);
      tornBytes = bytes;
      size = cut.offset;
      tail = readTail(file, size);
      head = chainHead(tail);
      const sealed = sealEntry(hooks.recover(cut), head.previousHash);
      recovered = { cut, hash: sealed.hash };
      text = (head.needsNewline ? "\n" : "") + sealed.line;
      head = { previousHash: sealed.hash, needsNewline: false };
    }
    if (sealers.length === 0 && recovered === undefined) return { hashes: [], bytes: 0 };
    let previous = head.previousHash;
    const hashes: string[] = [];
    if (head.needsNewline) text += "\n";
    for (const seal of sealers) {
      const sealed = seal(previous);
      hashes.push(sealed.hash);
      text += sealed.line;
      previous = sealed.hash;
    }
    const data = encoder.encode(text);
    let fsyncMs = 0;
    try {
      writeAllSync(file, data);
      const now = hooks.monotonicNow ?? (() => performance.now());
      const fsyncStart = now();
      if (hooks.fsyncInline) file.syncDataSync();
      else await file.syncData();
      fsyncMs = now() - fsyncStart;
    } catch (err) {
      await cutBack(file, size);
      if (recovered !== undefined && tornBytes !== undefined) {
        await restoreTornTail(file, recovered.cut, tornBytes);
      }
      throw ioError(path, err);
    }
    if (created) await syncDirectory(path);
    return { hashes, bytes: data.length, fsyncMs, ...(recovered ? { recovered } : {}) };
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    throw ioError(path, err);
  } finally {
    // Closing the descriptor releases the flock as well; unlock first to be explicit.
    try {
      file.unlockSync();
    } catch { /* already released */ }
    file.close();
  }
}

/**
 * Copies the torn last line (bytes `start` to `size`) to a new file beside the ledger,
 * fsyncs it, then cuts the ledger back to the line's start and fsyncs.
 */
async function cutTornTail(
  file: Deno.FsFile,
  path: string,
  start: number,
  size: number,
): Promise<{ cut: TornTailCut; bytes: Uint8Array }> {
  const bytes = readAt(file, start, size - start);
  const keptIn = `${path}.torn-${Date.now()}`;
  try {
    const aside = await Deno.open(keptIn, { write: true, createNew: true, mode: 0o600 });
    try {
      await writeAll(aside, bytes);
      await aside.syncData();
    } finally {
      aside.close();
    }
    await syncDirectory(keptIn);
    await file.truncate(start);
    await file.syncData();
  } catch (err) {
    throw new LedgerError(
      `Cannot repair the torn last line of ledger ${path}: ${errorText(err)}`,
      "io",
      { cause: err },
    );
  }
  const cut = {
    offset: start,
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    keptIn,
  };
  return { cut, bytes };
}

/**
 * Puts a cut torn line back when the entry recording the cut could not be written, so the
 * next append finds it and records the cut; its copy is removed once it is back.
 */
async function restoreTornTail(file: Deno.FsFile, cut: TornTailCut, bytes: Uint8Array) {
  try {
    await writeAll(file, bytes);
    await file.syncData();
    await Deno.remove(cut.keptIn);
  } catch {
    // The copy stays beside the ledger; what is left of the line is cut again next time.
  }
}

async function cutBack(file: Deno.FsFile, size: number): Promise<void> {
  try {
    await file.truncate(size);
    await file.syncData();
  } catch {
    // Nothing more can be done here; verify reports a torn tail if one remains.
  }
}

async function syncDirectory(path: string): Promise<void> {
  try {
    const d = await Deno.open(parentDir(path), { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Not every platform can fsync a directory; the data itself is already synced.
  }
}

const IRREGULAR: Record<IrregularReason, { code: LedgerErrorCode; why: string }> = {
  symlink: { code: "symlink", why: "it is a symbolic link; point --ledger at the real file" },
  not_file: { code: "not_regular", why: "it is not a regular file; point --ledger at a file" },
  replaced: {
    code: "replaced",
    why: "it was replaced by a link or another file while being opened",
  },
};

function irregularError(path: string, err: IrregularFileError): LedgerError {
  const { code, why } = IRREGULAR[err.reason];
  return new LedgerError(`Cannot append to ledger ${path}: ${why}`, code, { cause: err });
}

function ioError(path: string, err: unknown): LedgerError {
  return new LedgerError(`Cannot append to ledger ${path}: ${errorText(err)}`, "io", {
    cause: err,
  });
}

/** Options of {@link findingIdsInTail}. */
export interface TailIdsOptions {
  /** How much of the end of the ledger to read, in bytes; 8 MiB by default. */
  maxBytes?: number;
}

/**
 * The ids of the findings in the last `maxBytes` of the ledger: for each whole line there,
 * the `id` of every top-level object value that has a string one (a violation entry's
 * `violation.id`). After a crash, what a snapshot still lists as pending may have been
 * written already: read this once per catch-up and compare ids exactly. A torn last line,
 * a line cut by the start of the window and a line that is not JSON are skipped.
 */
export async function findingIdsInTail(
  path: string,
  options: TailIdsOptions = {},
): Promise<Set<string>> {
  const maxBytes = options.maxBytes ?? 8 << 20;
  const ids = new Set<string>();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return ids;
    throw err;
  }
  let bytes: Uint8Array;
  let windowStart: number;
  try {
    const size = (await file.stat()).size;
    windowStart = Math.max(0, size - maxBytes);
    // From one byte before the window: whether it is a newline says whether the window
    // starts at a line's start.
    const from = Math.max(0, windowStart - 1);
    bytes = await readRange(file, from, size - from);
  } finally {
    file.close();
  }
  const first = windowStart === 0 ? 0 : bytes.indexOf(0x0a) + 1;
  if (first === 0 && windowStart > 0) return ids; // one line longer than the window
  for (const line of decoder.decode(bytes.subarray(first)).split("\n")) addFindingIds(line, ids);
  return ids;
}

/**
 * Adds to `ids` the finding ids of one ledger line: the `id` of every top-level object value
 * that has a string one. A line that is not whole JSON (torn, foreign) adds nothing.
 */
export function addFindingIds(line: string, ids: Set<string>): void {
  // Most lines are not findings; a line without "id" need not be parsed.
  if (!line.includes('"id"')) return;
  const entry = parseLine(line);
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return;
  for (const value of Object.values(entry)) {
    const id = (value as { id?: unknown } | null)?.id;
    if (typeof value === "object" && !Array.isArray(value) && typeof id === "string") {
      ids.add(id);
    }
  }
}

// A line's JSON, or undefined when it is not whole JSON (a torn write). Python writes NaN
// and Infinity, which JSON.parse refuses: those lines go to the exact parser.
function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    try {
      return parsePythonJson(line);
    } catch {
      return undefined;
    }
  }
}

// Reads `length` bytes at `start` asynchronously (fewer if the file ends first).
async function readRange(file: Deno.FsFile, start: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(start, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return buf.subarray(0, got);
}
