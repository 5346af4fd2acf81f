/**
 * Verifies a whole ledger file by streaming it through the chain checker. A large ledger
 * is cut at line boundaries into parts checked on this thread and by workers at once; the
 * links between parts are checked here, so the report is the same as a single pass gives.
 * @module
 */
import {
  type EntryFn,
  type EntryRef,
  genesisNote,
  linkProblem,
  type Note,
  type Problem,
  shiftProblem,
} from "./chain.ts";
import {
  addLine,
  byFirstLine,
  type DuplicateId,
  idKey,
  idsOf,
  IdTable,
  keepLine,
  lineOf,
  MAX_DUPLICATES,
  type PendingDuplicate,
  SEEN_TWICE,
} from "./_ids.ts";
import { parsePythonJson } from "./pyjson.ts";
import {
  checkRange,
  CHUNK,
  lenient,
  MAX_KEPT,
  NEWLINE,
  NO_NEWLINE_NOTE,
  type RangeResult,
  stripCr,
} from "./_check_range.ts";
import { checkParts } from "./_verify_pool.ts";
import { VERIFY_WORKER_SOURCE } from "./_verify_worker_source.ts";

export type { DuplicateId, IdList } from "./_ids.ts";
export { checkRange, type RangeRequest, type RangeResult } from "./_check_range.ts";

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

/** Ledgers smaller than this are checked in one pass, without workers. */
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
// The size of the parts handed out to threads: small enough that a slow thread holds up
// little at the end, large enough that a part's set-up (a file opened, tables made) is
// small beside its work.
const PART_BYTES = 4 * 1024 * 1024;

/** Options for {@link verifyLedger}. */
export interface VerifyOptions {
  /** Called now and then with the bytes read so far. */
  onProgress?: ProgressFn;
  /**
   * Threads to check a large ledger with, this one included (default: one per core, at
   * most 4, on a machine of 4 cores or more that the load average does not show saturated,
   * else 1; workers that turn out not to run alongside this thread are ended; 1 = none).
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
  const onePass = async () => [
    await checkRange(
      { path, start: 0, end: size, midChain: false, onEntry: opts.onEntry },
      (n) => opts.onProgress?.(n, size),
    ),
  ];
  if (workers === 1 || opts.onEntry !== undefined || size < verifyTesting.parallelMinBytes) {
    return await merge(path, await onePass());
  }
  const bounds = await splitAtLines(path, size, Math.ceil(size / verifyTesting.partBytes));
  await verifyTesting.beforeWorkers?.();
  const done = new Array<number>(bounds.length - 1).fill(0);
  const source = verifyTesting.workerUrl === undefined ? workerSourceUrl() : undefined;
  try {
    const { results, byWorkers, parallelism } = await checkParts(
      bounds.slice(0, -1).map((start, i) => ({
        path,
        start,
        end: bounds[i + 1]!,
        midChain: i > 0,
        withIds: true,
      })),
      {
        workers: workers - 1,
        workerUrl: verifyTesting.workerUrl?.href ?? source!,
        onProgress: (i, n) => {
          done[i] = Math.max(done[i]!, n);
          opts.onProgress?.(done.reduce((x, y) => x + y, 0), size);
        },
        onLive: (change) => (liveWorkers += change),
        cpuTime: verifyTesting.cpuTime,
      },
    );
    verifyTesting.lastRun = "workers";
    verifyTesting.lastWorkerParts = byWorkers;
    verifyTesting.lastParallelism = parallelism;
    return await merge(path, results);
  } finally {
    if (source !== undefined) URL.revokeObjectURL(source);
  }
}

// The workers run from their bundled source, not from their module file: that needs no
// leave to read the module, which the coordinator's own permission set does not give.
function workerSourceUrl(): string {
  return URL.createObjectURL(new Blob([VERIFY_WORKER_SOURCE], { type: "text/javascript" }));
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

let liveWorkers = 0;

/** Seams for tests only: not part of what verify does for a user. */
export const verifyTesting = {
  /** Ledgers smaller than this are checked in one pass. */
  parallelMinBytes: PARALLEL_MIN_BYTES,
  /** The size of the parts a large ledger is cut into. */
  partBytes: PART_BYTES,
  /** A module for the workers to run instead of their bundled source. */
  workerUrl: undefined as URL | undefined,
  /** Called after the ledger is cut into parts, before the workers start. */
  beforeWorkers: undefined as (() => void | Promise<void>) | undefined,
  /** How the last verify read the ledger. */
  lastRun: undefined as "one pass" | "workers" | undefined,
  /** How many parts of the last verify with workers a worker checked. */
  lastWorkerParts: 0,
  /** The threads' CPU over wall time in the last verify with workers, if measured. */
  lastParallelism: undefined as number | undefined,
  /** The process's CPU time in ms (for measuring the threads). */
  cpuTime: cpuTime as (() => number) | undefined,
  /** The threads verify uses by default (this one included). */
  idleCores,
  /** The 1-minute load average, where it may be read. */
  loadAverage,
  /** The threads verify uses on `cores` cores under a load average of `load`. */
  threadsFor,
  /** Workers started and not yet ended. */
  get liveWorkers(): number {
    return liveWorkers;
  },
};

// A worker has to start (40 ms of this thread's time, a new isolate) and warm up (its
// first part runs at a third of the speed, its SHA-256 code is compiled again): on two
// cores a second thread cost more CPU than it saved time, whole process (bench/RESULTS.md).
// Workers are for machines with cores to spare: four or more, not saturated by the load
// average; whether they then really run at once is measured as they go (checkParts'
// cpuTime), and they are ended if not.
function idleCores(): number {
  return threadsFor(navigator.hardwareConcurrency || 1, verifyTesting.loadAverage());
}

/** Cores a machine needs before verify starts workers. */
const MIN_CORES_FOR_WORKERS = 4;
/** The most threads verify uses. */
const MAX_THREADS = 4;

function threadsFor(cores: number, load: number | undefined): number {
  if (cores < MIN_CORES_FOR_WORKERS || (load !== undefined && load >= cores)) return 1;
  return Math.min(MAX_THREADS, cores);
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

// The process's CPU time in ms, through Node's `process` (allowed under the coordinator's
// own set); touched only for a ledger large enough for workers, as it loads Node's layer.
function cpuTime(): number {
  // deno-lint-ignore no-process-global
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
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
    const own = part.problems.map((p) => shiftProblem(p, lines));
    if (boundary) {
      // Same order as a single pass: a line's own content problems come before its link.
      const after = own.findIndex((p) => p.line > boundary!.line);
      own.splice(after < 0 ? own.length : after, 0, boundary);
      problemCount++;
    }
    // Problems past the first MAX_KEPT are counted, not kept.
    for (const p of own) if (problems.length < MAX_KEPT) problems.push(p);
    // A last line without a newline is noted only when it has no problem: its link, checked
    // here, may be one.
    notes.push(
      ...part.notes.map((n) => ({ ...n, line: at(n) })).filter((n) =>
        !(boundary && n.line === boundary.line && n.message === NO_NEWLINE_NOTE)
      ),
    );
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
