/**
 * Verifies a whole ledger file by streaming it through {@link ChainChecker}. A large
 * ledger is cut at line boundaries into parts checked by workers in parallel; the links
 * between parts are checked here, so the report is the same as a single pass gives.
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  ChainChecker,
  type EntryFn,
  type EntryRef,
  genesisNote,
  linkProblem,
  type Note,
  type Problem,
} from "./chain.ts";
import { fromWorkerError, type WorkerError } from "./_worker_error.ts";
import {
  addLine,
  byFirstLine,
  type DuplicateId,
  idKey,
  type IdList,
  idsOf,
  IdTable,
  keepLine,
  lineOf,
  MAX_DUPLICATES,
  type PendingDuplicate,
  SEEN_TWICE,
} from "./_ids.ts";
import { parsePythonJson } from "./pyjson.ts";
import { LineScanner } from "./_scan.ts";
import { HashHelper } from "./_hash_helper.ts";

export type { DuplicateId, IdList } from "./_ids.ts";

/** The outcome of verifying a ledger. */
export interface VerifyReport {
  /** The ledger file. */
  path: string;
  /** No problems were found. */
  ok: boolean;
  /** Physical lines read (including blank ones). */
  lines: number;
  /** Entries (non-blank lines). */
  entries: number;
  /** Blank lines skipped. */
  blankLines: number;
  /** The hash of the last entry, if it has one. */
  head: string | undefined;
  /** Problems found, including any not listed. */
  problemCount: number;
  /** Problems, in line order (at most the first 10,000). */
  problems: Problem[];
  /** Remarks that are not failures, in line order. */
  notes: Note[];
  /**
   * Ids (`violation.id`, or the `id` of any top-level object) on more than one line, by
   * first line (at most the first 10,000). Not a problem for the chain: the same finding
   * was recorded twice.
   */
  duplicateIds: DuplicateId[];
  /** Distinct ids on more than one line, including any not listed. */
  duplicateIdCount: number;
}

/** Called now and then with bytes read so far and the file size. */
export type ProgressFn = (bytesRead: number, total: number) => void;

/** What one part of the file yields; line numbers are relative to the part. */
export interface RangeResult {
  /** Physical lines read (including blank ones). */
  lines: number;
  /** Entries (non-blank lines). */
  entries: number;
  /** Blank lines skipped. */
  blankLines: number;
  /** Problems found, including any not listed. */
  problemCount: number;
  /** Problems, in line order (at most the first 10,000). */
  problems: Problem[];
  /** Remarks that are not failures, in line order. */
  notes: Note[];
  /** With `midChain`: the first entry and the link it states, for the caller to check. */
  firstEntry: { line: number; link: unknown; checkable: boolean } | undefined;
  /** The part's last entry, to check the next part's link against. */
  lastEntry: EntryRef | undefined;
  /** Ids on more than one line of the part. */
  duplicateIds: DuplicateId[];
  /** Distinct ids on more than one line, including any not listed. */
  duplicateIdCount: number;
  /** Each id's first line in the part, when the request asked for them. */
  ids: IdList | undefined;
}

/** A part of the file to check: bytes [start, end). */
export interface RangeRequest {
  /** The ledger file. */
  path: string;
  /** First byte of the part (the start of a line). */
  start: number;
  /** Byte after the part's last one. */
  end: number;
  /** Whether the part starts after the first line of the file. */
  midChain: boolean;
  /** Whether to return each id's first line, for finding ids repeated across parts. */
  withIds?: boolean;
  /** Sees each entry as it is checked (one pass only: a function does not go to a worker). */
  onEntry?: EntryFn;
  /** Whether to hash on a second thread ({@link HashHelper}; one pass only). */
  hashHelper?: boolean;
}

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;
const MAX_KEPT = 10_000;
// The id table is sized for one id per this many bytes (coordinator lines run to about
// 750, audit_stub's to about 430), up to a cap, so that it seldom has to grow.
const BYTES_PER_ID = 512;
const MAX_EXPECTED_IDS = 1 << 20;
/** Ledgers smaller than this are checked in one pass, without workers. */
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** One pass over a ledger at least this large hashes on a second thread, given a second core. */
const HASH_HELPER_MIN_BYTES = 4 * 1024 * 1024;

/** Options for {@link verifyLedger}. */
export interface VerifyOptions {
  /** Called now and then with the bytes read so far. */
  onProgress?: ProgressFn;
  /**
   * Workers to use for a large ledger (default: one per idle core, that is the cores less
   * the load average where it may be read, at most 4; 1 = no workers).
   */
  workers?: number;
  /** Sees each entry, in order, as it is checked; the ledger is then read in one pass. */
  onEntry?: EntryFn;
}

/** Reads and checks every line of the ledger at `path`. Throws if the file cannot be read. */
export async function verifyLedger(path: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const size = await committedSize(path);
  const workers = Math.max(1, opts.workers ?? Math.min(4, verifyTesting.idleCores()));
  verifyTesting.lastRun = "one pass";
  verifyTesting.lastHashBatches = undefined;
  const onePass = async () => [
    await checkRange(
      {
        path,
        start: 0,
        end: size,
        midChain: false,
        onEntry: opts.onEntry,
        hashHelper: size >= verifyTesting.hashHelperMinBytes && hashHelperFits(),
      },
      (n) => opts.onProgress?.(n, size),
    ),
  ];
  if (
    workers === 1 || opts.onEntry !== undefined || size < verifyTesting.parallelMinBytes ||
    !mayStartWorkers()
  ) {
    return await merge(path, await onePass());
  }
  const bounds = await splitAtLines(path, size, workers);
  await verifyTesting.beforeWorkers?.();
  const done = new Array<number>(bounds.length - 1).fill(0);
  const parts = await checkInWorkers(
    bounds.slice(0, -1).map((start, i) => ({
      path,
      start,
      end: bounds[i + 1]!,
      midChain: i > 0,
      withIds: true,
    })),
    (i, n) => {
      done[i] = n;
      opts.onProgress?.(done.reduce((a, b) => a + b, 0), size);
    },
  );
  // Workers may be unavailable (a sandbox that cannot load their module): one pass will do,
  // started only once every worker has been ended.
  if (parts) verifyTesting.lastRun = "workers";
  return await merge(path, parts ?? await onePass());
}

// The size of the ledger with no append half done: writers append whole lines under an
// exclusive flock, so the size read under a shared one ends on a line boundary.
async function committedSize(path: string): Promise<number> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.lock(false);
    return (await file.stat()).size;
  } finally {
    try {
      await file.unlock();
    } catch { /* closing releases it too */ }
    file.close();
  }
}

const WORKER_URL = new URL("./_verify_worker.ts", import.meta.url);
let liveWorkers = 0;

/** Seams for tests only: not part of what verify does for a user. */
export const verifyTesting = {
  /** Ledgers smaller than this are checked in one pass. */
  parallelMinBytes: PARALLEL_MIN_BYTES,
  /** One pass over a ledger at least this large hashes on a second thread. */
  hashHelperMinBytes: HASH_HELPER_MIN_BYTES,
  /** The module the workers run. */
  workerUrl: WORKER_URL,
  /** Called after the ledger is cut into parts, before the workers start. */
  beforeWorkers: undefined as (() => void | Promise<void>) | undefined,
  /** How the last verify read the ledger. */
  lastRun: undefined as "one pass" | "workers" | undefined,
  /** Where the last one pass with a hash helper hashed its batches. */
  lastHashBatches: undefined as { worker: number; here: number } | undefined,
  /** Cores with nothing else to do, for the default number of workers. */
  idleCores,
  /** The 1-minute load average, where it may be read. */
  loadAverage,
  /** The cores idle out of `cores` under a load average of `load`. */
  idleCoresOf,
  /** Workers started and not yet ended. */
  get liveWorkers(): number {
    return liveWorkers;
  },
};

// Each worker has to start and compile its module: on cores already busy they cost more
// than they save (two workers on two cores with a load of 2 took twice as long as one pass,
// bench/RESULTS.md). Without leave to read the load average, every core counts as idle.
function idleCores(): number {
  const cores = navigator.hardwareConcurrency || 1;
  const load = verifyTesting.loadAverage();
  return load === undefined ? cores : idleCoresOf(cores, load);
}

function loadAverage(): number | undefined {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "loadavg" }).state !== "granted") {
      return undefined;
    }
    return Deno.loadavg()[0]!;
  } catch {
    return undefined;
  }
}

// The hash helper is one thread with no modules to load, and the main thread takes back
// what it has not begun: half a core to spare is enough. On a machine loaded past that it
// only adds its start (about 0.1 s of CPU) to the contention. Without leave to read the
// load average, the second core counts as idle, as for the workers.
function hashHelperFits(): boolean {
  const cores = navigator.hardwareConcurrency || 1;
  if (cores < 2) return false;
  const load = verifyTesting.loadAverage();
  return load === undefined || cores - load >= 0.5;
}

function idleCoresOf(cores: number, load: number): number {
  return Math.max(1, Math.round(cores - load));
}

// Loading a worker's module needs read access to it, which the coordinator's own sandbox
// does not grant (it reads only the audits directory); then one pass does the work.
function mayStartWorkers(): boolean {
  const url = verifyTesting.workerUrl;
  if (url.protocol !== "file:") return true;
  try {
    return Deno.permissions.querySync({ name: "read", path: fileURLToPath(url) }).state ===
      "granted";
  } catch {
    return false;
  }
}

// What the verify worker posts back.
type WorkerMessage =
  | { progress: number }
  | { result: RangeResult }
  | { error: WorkerError };

/** A worker failed to load or threw outside its reading: one pass can still do the work. */
class WorkerUnavailable extends Error {}

/**
 * Checks each part in its own worker. Every worker is ended before this returns or
 * throws, whichever way it ends. Resolves to undefined when the workers cannot run;
 * rejects with a worker's read error re-created with its class.
 */
async function checkInWorkers(
  reqs: RangeRequest[],
  onProgress: (part: number, bytes: number) => void,
): Promise<RangeResult[] | undefined> {
  const started: Worker[] = [];
  const end = (worker: Worker) => {
    const i = started.indexOf(worker);
    if (i < 0) return;
    started.splice(i, 1);
    worker.terminate();
    liveWorkers--;
  };
  const run = (req: RangeRequest, part: number) =>
    new Promise<RangeResult>((resolve, reject) => {
      const worker = new Worker(verifyTesting.workerUrl.href, { type: "module" });
      started.push(worker);
      liveWorkers++;
      worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
        const msg = ev.data;
        if ("progress" in msg) return onProgress(part, msg.progress);
        end(worker);
        if ("result" in msg) resolve(msg.result);
        else reject(fromWorkerError(msg.error));
      };
      worker.onerror = (ev) => {
        ev.preventDefault();
        end(worker);
        reject(new WorkerUnavailable(`The verify worker failed: ${ev.message}`));
      };
      worker.postMessage(req);
    });
  try {
    return await Promise.all(reqs.map(run));
  } catch (err) {
    if (err instanceof WorkerUnavailable) return undefined;
    throw err;
  } finally {
    // Promise.all gives up at the first failure; the other workers would read on.
    for (const worker of [...started]) end(worker);
  }
}

async function merge(path: string, parts: RangeResult[]): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const notes: Note[] = [];
  let problemCount = 0;
  let lines = 0;
  let entries = 0;
  let blankLines = 0;
  let prev: EntryRef | undefined;
  const offsets: number[] = [];
  for (const part of parts) {
    offsets.push(lines);
    const at = (p: { line: number }) => p.line + lines;
    let boundary: Problem | undefined;
    if (part.firstEntry) {
      const line = at(part.firstEntry);
      if (prev === undefined) {
        const note = genesisNote(line, part.firstEntry.link);
        if (note) notes.push(note);
      } else if (part.firstEntry.checkable) {
        boundary = linkProblem(line, part.firstEntry.link, prev);
      }
    }
    const own = part.problems.map((p) => ({ ...p, line: at(p) }));
    if (boundary) {
      // Same order as a single pass: a line's own content problems come before its link.
      const after = own.findIndex((p) => p.line > boundary!.line);
      own.splice(after < 0 ? own.length : after, 0, boundary);
      problemCount++;
    }
    problems.push(...own);
    notes.push(...part.notes.map((n) => ({ ...n, line: at(n) })));
    problemCount += part.problemCount;
    if (part.lastEntry) prev = { line: at(part.lastEntry), hash: part.lastEntry.hash };
    lines += part.lines;
    entries += part.entries;
    blankLines += part.blankLines;
  }
  return {
    path,
    ok: problemCount === 0,
    lines,
    entries,
    blankLines,
    head: prev?.hash,
    problemCount,
    problems: problems.slice(0, MAX_KEPT),
    notes,
    ...(parts.length === 1
      ? { duplicateIds: parts[0]!.duplicateIds, duplicateIdCount: parts[0]!.duplicateIdCount }
      : await mergeIds(path, parts, offsets)),
  };
}

// The ids repeated within each part, and across parts: each part's first lines go into
// one table, where a hit is an id an earlier part holds too.
async function mergeIds(
  path: string,
  parts: RangeResult[],
  offsets: number[],
): Promise<{ duplicateIds: DuplicateId[]; duplicateIdCount: number }> {
  const table = new IdTable(parts.reduce((n, p) => n + p.ids!.length / 3, 0));
  const found = new Map<string, PendingDuplicate>();
  let count = 0;
  parts.forEach((part, p) => {
    const ids = part.ids!;
    for (let i = 0; i < ids.length; i += 3) {
      const hi = ids[i]!;
      const lo = ids[i + 1]!;
      const flagged = ids[i + 2]!;
      const twice = flagged & SEEN_TWICE;
      const at = lineOf(flagged) + offsets[p]!;
      const slot = table.slot(hi, lo);
      const first = table.lineAt(slot);
      if (first === 0) {
        table.insert(slot, hi, lo, at | twice);
        if (twice) count++;
        continue;
      }
      if ((first & SEEN_TWICE) === 0) {
        table.setLine(slot, first | SEEN_TWICE);
        count++;
      }
      const key = `${hi}:${lo}`;
      let dup = found.get(key);
      if (dup === undefined && found.size < MAX_DUPLICATES) {
        // Which id it is is read back from its line below, unless the part lists it.
        dup = { field: undefined, id: undefined, lines: [lineOf(first)], count: 1 };
        found.set(key, dup);
      }
      if (dup) addLine(dup, at);
    }
    for (const d of part.duplicateIds) {
      const lines = d.lines.map((n) => n + offsets[p]!);
      const key = idKey(d.field, d.id);
      const dup = found.get(key);
      if (dup === undefined) {
        if (found.size < MAX_DUPLICATES) found.set(key, { ...d, lines });
        continue;
      }
      // Its first line in this part went in above, from the part's first lines.
      dup.field = d.field;
      dup.id = d.id;
      dup.count += d.count - 1;
      for (const n of lines.slice(1)) keepLine(dup, n);
    }
  });
  await readIds(path, [...found].filter(([, d]) => d.id === undefined));
  return {
    duplicateIds: [...found.values()].filter((d): d is DuplicateId => d.id !== undefined).sort(
      byFirstLine,
    ),
    duplicateIdCount: count,
  };
}

// Fills in which id each duplicate is from its first line: an id repeated only across
// parts is known to the workers by its hash alone. Reads the file up to the last such line.
async function readIds(path: string, pending: [string, PendingDuplicate][]): Promise<void> {
  if (pending.length === 0) return;
  const wanted = new Map<number, [string, PendingDuplicate][]>();
  for (const [key, d] of pending) {
    wanted.set(d.lines[0]!, [...(wanted.get(d.lines[0]!) ?? []), [key, d]]);
  }
  const last = Math.max(...wanted.keys());
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(CHUNK);
    let carry: Uint8Array[] = [];
    let lineNo = 1;
    const take = (bytes: Uint8Array) => {
      const dups = wanted.get(lineNo);
      if (dups === undefined) return;
      let ids;
      try {
        const value = parsePythonJson(stripCr(lenient.decode(bytes)));
        if (typeof value !== "object" || value === null) return;
        ids = idsOf(value as Record<string, unknown>);
      } catch {
        return;
      }
      for (const [key, d] of dups) {
        const found = ids.get(key);
        if (found) Object.assign(d, found);
      }
    };
    while (lineNo <= last) {
      const n = await file.read(buf);
      if (n === null) break;
      let start = 0;
      while (lineNo <= last) {
        const end = buf.subarray(start, n).indexOf(NEWLINE);
        if (end < 0) {
          if (wanted.has(lineNo)) carry.push(buf.slice(start, n));
          break;
        }
        if (wanted.has(lineNo)) {
          carry.push(buf.subarray(start, start + end));
          take(concat(carry));
        }
        carry = [];
        lineNo++;
        start += end + 1;
      }
    }
  } finally {
    file.close();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Cut points near equal shares of the file, each moved to the start of a line (exported for tests). */
export async function splitAtLines(path: string, size: number, parts: number): Promise<number[]> {
  const bounds = [0];
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(64 * 1024);
    for (let k = 1; k < parts; k++) {
      let pos = Math.max(Math.floor((size * k) / parts), bounds.at(-1)!);
      let cut = -1;
      while (cut < 0 && pos < size) {
        await file.seek(pos, Deno.SeekMode.Start);
        const n = await file.read(buf);
        if (n === null) break;
        const i = buf.subarray(0, n).indexOf(NEWLINE);
        if (i >= 0) cut = pos + i + 1;
        else pos += n;
      }
      if (cut > 0 && cut < size && cut > bounds.at(-1)!) bounds.push(cut);
    }
  } finally {
    file.close();
  }
  bounds.push(size);
  return bounds;
}

/** Checks the lines in bytes [start, end) of the file; `start` must be a line start. */
export async function checkRange(
  req: RangeRequest,
  onProgress?: (bytesRead: number) => void,
): Promise<RangeResult> {
  const file = await Deno.open(req.path, { read: true });
  const checker = new ChainChecker({
    maxKept: MAX_KEPT,
    midChain: req.midChain,
    expectedIds: Math.min((req.end - req.start) / BYTES_PER_ID, MAX_EXPECTED_IDS),
    onEntry: req.onEntry,
  });
  // ignoreBOM keeps a byte-order mark in the text, so it is reported wherever it stands.
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // onEntry needs each entry as an object: only the exact path makes one.
  const scanner = req.onEntry === undefined ? new LineScanner() : undefined;
  const hashes = scanner && req.hashHelper
    ? new HashHelper((line, stated, computed) => checker.hashMismatch(line, stated, computed))
    : undefined;
  let lineNo = 0;
  let bytesRead = 0;
  let lastByte = NEWLINE;
  try {
    await file.seek(req.start, Deno.SeekMode.Start);
    // The part of a line left at the end of a read stays at the front of `buf` and the next
    // read is copied in after it (a fresh 1 MiB array a read cost more in page faults and
    // zeroing than the copy). The next read goes on while this one's lines are checked.
    let buf = new Uint8Array(2 * CHUNK);
    const spare = new Uint8Array(CHUNK);
    let have = 0;
    const total = req.end - req.start;
    const readNext = (): Promise<number | null> => {
      if (bytesRead >= total) return Promise.resolve(null);
      const p = file.read(spare.subarray(0, Math.min(CHUNK, total - bytesRead)));
      // Handled where it is awaited; if checking throws first, the file closes under it.
      p.catch(() => {});
      return p;
    };
    let pending = readNext();
    while (true) {
      const n = await pending;
      if (n === null) break;
      bytesRead += n;
      if (buf.length - have < n) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf.subarray(0, have));
        buf = bigger;
      }
      buf.set(spare.subarray(0, n), have);
      pending = readNext();
      const len = have + n;
      lastByte = buf[len - 1]!;
      const cut = buf.lastIndexOf(NEWLINE, len - 1);
      if (cut < 0) {
        have = len;
        continue;
      }
      lineNo = checkLines({ checker, strict, scanner, hashes }, buf.subarray(0, cut), lineNo);
      buf.copyWithin(0, cut + 1, len);
      have = len - cut - 1;
      onProgress?.(bytesRead);
    }
    if (have > 0) {
      lineNo++;
      checkOne(checker, strict, buf.subarray(0, have), lineNo, lastByte !== NEWLINE);
      if (lastByte !== NEWLINE && checker.problems.at(-1)?.line !== lineNo) {
        checker.notes.push({ line: lineNo, message: "the last line has no newline at its end" });
      }
    }
    await hashes?.drain();
  } finally {
    hashes?.close();
    if (hashes) verifyTesting.lastHashBatches = hashes.batches;
    file.close();
  }
  return {
    lines: lineNo,
    entries: checker.entries,
    blankLines: checker.blankLines,
    problemCount: checker.problemCount,
    problems: checker.problems,
    notes: checker.notes,
    firstEntry: checker.firstEntry,
    lastEntry: checker.lastEntry,
    // The tracker records each id's text as it finds it repeated.
    duplicateIds: ([...checker.ids.duplicates.values()] as DuplicateId[]).sort(byFirstLine),
    duplicateIdCount: checker.ids.duplicateCount,
    ids: req.withIds ? checker.ids.table.list() : undefined,
  };
}

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

// Checks a block of whole lines, each on the bytes where the scanner can write its
// canonical form (most lines: no strings, no JSON.parse), else decoded and parsed.
function checkLines(
  how: {
    checker: ChainChecker;
    strict: TextDecoder;
    scanner: LineScanner | undefined;
    hashes: HashHelper | undefined;
  },
  block: Uint8Array,
  lineNo: number,
): number {
  const { checker, strict, scanner, hashes } = how;
  let start = 0;
  while (start <= block.length) {
    lineNo++;
    // The scanner finds where the line ends as it reads it.
    let end = scanner === undefined ? -1 : scanner.scan(block, start, block.length);
    if (end >= 0) {
      checker.checkScanned(lineNo, scanner!, hashes);
    } else {
      end = block.indexOf(NEWLINE, start);
      if (end < 0) end = block.length;
      checkOne(checker, strict, block.subarray(start, end), lineNo, false);
    }
    start = end + 1;
  }
  return lineNo;
}

function checkOne(
  checker: ChainChecker,
  strict: TextDecoder,
  bytes: Uint8Array,
  lineNo: number,
  unterminated: boolean,
): void {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    checker.badEncoding(lineNo);
    return;
  }
  checker.check(lineNo, stripCr(text), unterminated);
}

function stripCr(s: string): string {
  return s.endsWith("\r") ? s.slice(0, -1) : s;
}
