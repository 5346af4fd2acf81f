/**
 * Appending to the shared MO§ES ledger: exclusive `flock`, chain head read from the
 * end of the file under the lock, whole lines written, fsync, unlock.
 * @module
 */
import { canonicalJsonWithout, parsePythonJson, pythonDumps } from "./pyjson.ts";
import { sha256Hex } from "./hash.ts";
import type { EntryBody } from "./violation.ts";

/** `previous_hash` of the first line of a ledger. */
export const GENESIS_HASH: string = "0".repeat(64);

/** audit_stub's keys, in its order, before `previous_hash`. */
export const AUDIT_KEYS: readonly string[] = [
  "timestamp",
  "agent",
  "component",
  "action",
  "detail",
  "outcome",
  "mode",
  "posture",
  "role",
  "session_hash",
];

/** Why an append could not be made. */
export type LedgerErrorCode =
  | "symlink"
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

/** A sealed entry: the object, its hash, and its line as written (with newline). */
export interface SealedEntry {
  entry: Record<string, unknown>;
  hash: string;
  line: string;
}

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
  lastLine: string | undefined;
  endsWithNewline: boolean;
}

/** Reads the last non-blank line by reading backwards from `size`; cost does not grow with the file. */
export async function readTail(file: Deno.FsFile, size: number): Promise<LedgerTail> {
  if (size === 0) return { lastLine: undefined, endsWithNewline: true };
  let buf = new Uint8Array(0);
  let pos = size;
  let endsWithNewline: boolean | undefined;
  // Most lines are well under 8 KiB: read that much first, then larger steps.
  let step = 8 * 1024;
  while (pos > 0) {
    const start = Math.max(0, pos - step);
    step = TAIL_CHUNK;
    const chunk = await readAt(file, start, pos - start);
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
      return { lastLine: decoder.decode(buf.subarray(nl + 1, end)), endsWithNewline };
    }
    if (buf.length > MAX_LINE) {
      throw new LedgerError(
        "Cannot append to ledger: its last line is longer than 16 MiB",
        "line_too_long",
      );
    }
  }
  return { lastLine: undefined, endsWithNewline: endsWithNewline ?? true };
}

// Reads up to `length` bytes at `start` (fewer if the file ends first).
async function readAt(
  file: Pick<Deno.FsFile, "seek" | "read">,
  start: number,
  length: number,
): Promise<Uint8Array> {
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
}

/** The result of one durable append. */
export interface AppendResult {
  /** Hashes of the lines written, in order. */
  hashes: string[];
  /** Bytes added to the file. */
  bytes: number;
}

/**
 * Appends entries as whole lines, chained to the current head, in one write and one
 * fsync under an exclusive lock. On any failure the file is cut back to its size
 * before the write, so no partial line is left, and a {@link LedgerError} is thrown.
 */
export async function appendEntries(
  path: string,
  bodies: readonly EntryBody[],
  hooks: AppendHooks = {},
): Promise<AppendResult> {
  if (bodies.length === 0) return { hashes: [], bytes: 0 };
  let existed = true;
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) {
      throw new LedgerError(
        `Cannot append to ledger ${path}: it is a symbolic link; point --ledger at the real file`,
        "symlink",
      );
    }
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw ioError(path, err);
    existed = false;
  }

  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, append: true, create: true, mode: 0o600 });
  } catch (err) {
    throw ioError(path, err);
  }
  try {
    await file.lock(true);
    if (hooks.proceed?.() === false) {
      throw new LedgerError("Append abandoned: the coordinator is stopping", "abandoned");
    }
    hooks.onLocked?.();
    const size = (await file.stat()).size;
    const head = chainHead(await readTail(file, size));
    let previous = head.previousHash;
    const hashes: string[] = [];
    let text = head.needsNewline ? "\n" : "";
    for (const body of bodies) {
      const sealed = sealEntry(body, previous);
      hashes.push(sealed.hash);
      text += sealed.line;
      previous = sealed.hash;
    }
    const data = encoder.encode(text);
    try {
      await writeAll(file, data);
      await file.syncData();
    } catch (err) {
      await cutBack(file, size);
      throw ioError(path, err);
    }
    if (!existed) await syncDirectory(path);
    return { hashes, bytes: data.length };
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    throw ioError(path, err);
  } finally {
    // Closing the descriptor releases the flock as well; unlock first to be explicit.
    try {
      await file.unlock();
    } catch { /* already released */ }
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
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
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Not every platform can fsync a directory; the data itself is already synced.
  }
}

function ioError(path: string, err: unknown): LedgerError {
  const detail = err instanceof Error ? err.message : String(err);
  return new LedgerError(`Cannot append to ledger ${path}: ${detail}`, "io", { cause: err });
}

/**
 * Which of `ids` appear in the last `maxBytes` of the ledger: after a crash, the
 * violations a snapshot still lists as pending may have been written already.
 */
export async function idsInTail(
  path: string,
  ids: readonly string[],
  maxBytes = 8 << 20,
): Promise<Set<string>> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return found;
    throw err;
  }
  try {
    const size = (await file.stat()).size;
    const start = Math.max(0, size - maxBytes);
    const text = decoder.decode(await readAt(file, start, size - start));
    for (const id of ids) if (text.includes(`"${id}"`)) found.add(id);
  } finally {
    file.close();
  }
  return found;
}
