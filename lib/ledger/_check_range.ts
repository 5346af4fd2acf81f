/**
 * Checks one part of a ledger file, a byte range that starts at a line: the work verify
 * does on its own thread and in each worker. Imports nothing verify.ts imports for its
 * workers, so that it bundles into the workers' self-contained source
 * (`_verify_worker_source.ts`).
 * @module
 */
import { ChainChecker, type EntryFn, type EntryRef, type Note, type Problem } from "./chain.ts";
import { byFirstLine, type DuplicateId, type IdList } from "./_ids.ts";
import { LineScanner } from "./_scan.ts";
import { BatchHasher } from "./_batch_hasher.ts";

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
}
/** Bytes read at a time. */
export const CHUNK = 1 << 20;
/** The newline byte. */
export const NEWLINE = 0x0a;
/** The note on a last line without a newline (and no problem). */
export const NO_NEWLINE_NOTE = "the last line has no newline at its end";
/** Problems (and duplicate ids) kept in a report; all are counted. */
export const MAX_KEPT = 10_000;
// The id table is sized for one id per this many bytes (coordinator lines run to about
// 750, audit_stub's to about 430), up to a cap, so that it seldom has to grow.
const BYTES_PER_ID = 512;
const MAX_EXPECTED_IDS = 1 << 20;

/** What a check reads and hashes with: kept for the thread's next part. */
interface Tools {
  bufs: [Uint8Array, Uint8Array];
  scanner: LineScanner;
  hasher: BatchHasher;
}

// Made afresh for each part of a large ledger (a WebAssembly memory of about 5 MiB that
// holds the read buffers), they cost about 10 ms a part; a check in progress has its own, so
// checks may overlap.
const idleTools: Tools[] = [];

function takeTools(): Tools {
  const tools = idleTools.pop();
  if (tools !== undefined) return tools;
  // The buffers and the scanner's ops are in the hasher's memory: lines read into them are
  // written canonically where they are hashed.
  const hasher = new BatchHasher({ readBufferBytes: 2 * CHUNK });
  const scanner = new LineScanner({ ops: hasher.ops, stop: hasher.stop });
  return { bufs: hasher.readBuffers(), scanner, hasher };
}

function giveBack(tools: Tools): void {
  tools.hasher.clear();
  // Not the last check's checker (its problems, its id table) kept alive by the callback.
  tools.hasher.onMismatch = () => {};
  // A buffer grown for a very long line is not kept.
  tools.bufs = tools.hasher.readBuffers();
  if (idleTools.length < 2) idleTools.push(tools);
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
  const tools = takeTools();
  // onEntry needs each entry as an object: only the exact path makes one.
  const scanner = req.onEntry === undefined ? tools.scanner : undefined;
  const hashes = tools.hasher;
  tools.hasher.onMismatch = (line, stated, computed) =>
    checker.hashMismatch(line, stated, computed);
  let lineNo = 0;
  let bytesRead = 0;
  let lastByte = NEWLINE;
  // The read under way, if any: it must be over before the file closes (a read cut short by
  // the close still writes into its buffer afterwards, which the next check would reuse).
  let pending: Promise<number | null> | undefined;
  let finished = false;
  try {
    await file.seek(req.start, Deno.SeekMode.Start);
    // Reads go straight into one of two buffers, each read while the lines of the other
    // are checked; only the part of a line left at the end of a read is copied, to the front
    // of the other buffer (a fresh array a read cost more in page faults and zeroing, and a
    // spare read buffer copied in cost a copy of every byte). The buffers are in the hasher's
    // memory, where lines are written canonically without a copy; a line too long for the
    // room left after a read's kept bytes grows its buffer out of that memory (its lines are
    // then copied in), until the bytes kept fit a hasher's buffer again.
    const resident = tools.hasher.readBuffers();
    const spare = (busy: Uint8Array) => resident[0] === busy ? resident[1] : resident[0];
    let [cur, other] = tools.bufs;
    let have = 0;
    const total = req.end - req.start;
    const readInto = (into: Uint8Array, at: number): Promise<number | null> => {
      if (bytesRead >= total) return Promise.resolve(null);
      const p = file.read(into.subarray(at, at + Math.min(CHUNK, total - bytesRead)));
      // Handled where it is awaited; if checking throws first, the file closes under it.
      p.catch(() => {});
      return p;
    };
    // Room for a whole read after `buf`'s first `keep` bytes, which are kept.
    const roomy = (buf: Uint8Array, keep: number): Uint8Array => {
      if (buf.length - keep >= CHUNK) return buf;
      const bigger = new Uint8Array(Math.max(2 * buf.length, keep + CHUNK));
      bigger.set(buf.subarray(0, keep));
      return bigger;
    };
    pending = readInto(cur, 0);
    while (true) {
      const n = await pending;
      if (n === null) break;
      bytesRead += n;
      const len = have + n;
      lastByte = cur[len - 1]!;
      const cut = cur.lastIndexOf(NEWLINE, len - 1);
      if (cut < 0) {
        have = len;
        cur = roomy(cur, have);
        pending = readInto(cur, have);
        continue;
      }
      const tail = len - cut - 1;
      // Back to the hasher's memory once what is kept leaves room for a read there.
      if (other !== resident[0] && other !== resident[1] && tail <= CHUNK) other = spare(cur);
      other = roomy(other, tail);
      other.set(cur.subarray(cut + 1, len));
      pending = readInto(other, tail);
      lineNo = checkLines({ checker, strict, scanner, hashes }, cur.subarray(0, cut), lineNo);
      // Before the block's bytes are written over: the ids of its lines, with their text.
      checker.ids.flushQueued();
      [cur, other] = [other, cur];
      have = tail;
      onProgress?.(bytesRead);
    }
    tools.bufs = [cur, other];
    if (have > 0) {
      lineNo++;
      checkOne({ checker, strict, hashes }, cur.subarray(0, have), lineNo, {
        unterminated: lastByte !== NEWLINE,
      });
    }
    // Before the note below, which a problem on the last line (its hash, say) takes the place of.
    hashes.flush();
    if (have > 0 && lastByte !== NEWLINE && checker.lastProblemLine !== lineNo) {
      checker.notes.push({ line: lineNo, message: NO_NEWLINE_NOTE });
    }
    finished = true;
  } finally {
    await pending?.catch(() => {});
    file.close();
    // After a failure the hasher may hold half a batch and the buffers a read: not reused.
    if (finished) giveBack(tools);
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

/** A decoder that keeps a byte-order mark and replaces bad bytes. */
export const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

// Checks a block of whole lines, each on its bytes where the scanner can describe its
// canonical form (most lines: no strings, no JSON.parse), else decoded and parsed.
function checkLines(
  how: {
    checker: ChainChecker;
    strict: TextDecoder;
    scanner: LineScanner | undefined;
    hashes: BatchHasher;
  },
  block: Uint8Array,
  lineNo: number,
): number {
  const { checker, scanner, hashes } = how;
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
      checkOne(how, block.subarray(start, end), lineNo, { unterminated: false });
    }
    start = end + 1;
  }
  return lineNo;
}

// Checks a line on the exact path: decoded, parsed, made canonical.
function checkOne(
  how: { checker: ChainChecker; strict: TextDecoder; hashes: BatchHasher },
  bytes: Uint8Array,
  lineNo: number,
  opts: { unterminated: boolean },
): void {
  const { checker, strict, hashes } = how;
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    checker.badEncoding(lineNo);
    return;
  }
  checker.check(lineNo, stripCr(text), { unterminated: opts.unterminated, hashes });
}

/** `s` without a carriage return at its end. */
export function stripCr(s: string): string {
  return s.endsWith("\r") ? s.slice(0, -1) : s;
}
