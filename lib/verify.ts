/**
 * Verifies a whole ledger file by streaming it through {@link ChainChecker}.
 * @module
 */
import { ChainChecker, type Note, type Problem } from "./chain.ts";

/** The outcome of verifying a ledger. */
export interface VerifyReport {
  path: string;
  ok: boolean;
  /** Physical lines read (including blank ones). */
  lines: number;
  entries: number;
  blankLines: number;
  head: string | undefined;
  problemCount: number;
  /** Problems, in line order (at most the first 10,000). */
  problems: Problem[];
  notes: Note[];
}

/** Called now and then with bytes read so far and the file size. */
export type ProgressFn = (bytesRead: number, total: number) => void;

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;

/** Reads and checks every line of the ledger at `path`. Throws if the file cannot be read. */
export async function verifyLedger(path: string, onProgress?: ProgressFn): Promise<VerifyReport> {
  const file = await Deno.open(path, { read: true });
  const checker = new ChainChecker();
  const strict = new TextDecoder("utf-8", { fatal: true });
  let lineNo = 0;
  let bytesRead = 0;
  let lastByte = NEWLINE;
  try {
    const total = (await file.stat()).size;
    let carry = new Uint8Array(0);
    const buf = new Uint8Array(CHUNK);
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      bytesRead += n;
      lastByte = buf[n - 1]!;
      let data: Uint8Array;
      if (carry.length > 0) {
        data = new Uint8Array(carry.length + n);
        data.set(carry, 0);
        data.set(buf.subarray(0, n), carry.length);
      } else {
        data = buf.subarray(0, n);
      }
      const cut = data.lastIndexOf(NEWLINE);
      if (cut < 0) {
        carry = data.slice();
        continue;
      }
      lineNo = checkLines(checker, strict, data.subarray(0, cut), lineNo);
      carry = data.slice(cut + 1);
      onProgress?.(bytesRead, total);
    }
    if (carry.length > 0) {
      lineNo++;
      checkOne(checker, strict, carry, lineNo, lastByte !== NEWLINE);
      if (lastByte !== NEWLINE && checker.problems.at(-1)?.line !== lineNo) {
        checker.notes.push({ line: lineNo, message: "the last line has no newline at its end" });
      }
    }
  } finally {
    file.close();
  }
  return {
    path,
    ok: checker.ok,
    lines: lineNo,
    entries: checker.entries,
    blankLines: checker.blankLines,
    head: checker.head,
    problemCount: checker.problemCount,
    problems: checker.problems,
    notes: checker.notes,
  };
}

// Decodes a block of whole lines at once (fast), falling back to line by line when
// the block holds bytes that are not UTF-8, so that only the bad lines are reported.
function checkLines(
  checker: ChainChecker,
  strict: TextDecoder,
  block: Uint8Array,
  lineNo: number,
): number {
  let text: string;
  try {
    text = strict.decode(block);
  } catch {
    let start = 0;
    while (start <= block.length) {
      let end = block.indexOf(NEWLINE, start);
      if (end < 0) end = block.length;
      checkOne(checker, strict, block.subarray(start, end), ++lineNo, false);
      start = end + 1;
    }
    return lineNo;
  }
  let start = 0;
  while (true) {
    const end = text.indexOf("\n", start);
    if (end < 0) {
      checker.check(++lineNo, stripCr(text.slice(start)));
      return lineNo;
    }
    checker.check(++lineNo, stripCr(text.slice(start, end)));
    start = end + 1;
  }
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
