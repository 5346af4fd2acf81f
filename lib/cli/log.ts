/**
 * `log`: the ledger's entries, every writer's, oldest first, one readable line each (or
 * one JSON object each); `-n` reads from the end; `--follow` shows entries as they land.
 * @module
 */
import { basename } from "node:path";
import { parentDir } from "../util/mod.ts";
import {
  countLines,
  type EntryFilter,
  filtersContent,
  formatLine,
  jsonLine,
  type LedgerLine,
  matches,
  readLine,
  readTail,
  splitLines,
} from "./ledger_view.ts";

/** Where `log` writes. */
export interface LogOutput {
  /** Writes one line. */
  out(text: string): void;
  /** Writes one line to stderr (notices while following). */
  err(text: string): void;
}

/** What `log` was asked. */
export interface LogOptions {
  /** The ledger file. */
  path: string;
  /** Show only the last N matching lines. */
  n?: number;
  /** Which entries to show. */
  filter: EntryFilter;
  /** One JSON object per line instead of text. */
  json: boolean;
  /** Colours (a terminal without NO_COLOR). */
  colour: boolean;
  /** Keep showing new entries until `signal` aborts. */
  follow?: { signal: AbortSignal; onWatching?: () => void };
}

/** Shows the ledger's lines as asked; resolves when done (following: when aborted). */
export async function showLog(out: LogOutput, opts: LogOptions): Promise<void> {
  const show = (l: LedgerLine) => out.out(opts.json ? jsonLine(l) : formatLine(l, opts));
  // An invalid line has no content to match a filter: it is shown unless a filter is set.
  const keep = (l: LedgerLine) =>
    "entry" in l ? matches(l.entry, opts.filter) : !filtersContent(opts.filter);
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(opts.path, { read: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || opts.follow === undefined) throw err;
  }
  let offset = 0;
  let ino: number | null = null;
  let lines: number | undefined = 0;
  if (file !== undefined) {
    try {
      const size = await committedSize(file);
      ino = (await file.stat()).ino;
      if (opts.n !== undefined) {
        await showTail(file, size, { n: opts.n, keep, show });
        lines = undefined; // not counted: the head was not read
      } else {
        lines = (await showAll(file, size, { keep, show, unterminatedIsTorn: true })).lines;
      }
      offset = size;
    } finally {
      file.close();
    }
  }
  if (opts.follow !== undefined) {
    await follow(opts.path, { offset, ino, lines, keep, show, out, ...opts.follow });
  }
}

// The size with no append half done: writers append whole lines under an exclusive flock.
async function committedSize(file: Deno.FsFile): Promise<number> {
  await file.lock(false);
  try {
    return (await file.stat()).size;
  } finally {
    await file.unlock();
  }
}

async function showTail(
  file: Deno.FsFile,
  size: number,
  opts: { n: number; keep: (l: LedgerLine) => boolean; show: (l: LedgerLine) => void },
): Promise<void> {
  const tail = await readTail(file, size, { n: opts.n, keep: opts.keep });
  // Entries need no line number; an invalid line is named by its number, which only a count
  // of the newlines before it can give: that pass is made only when one is shown.
  if (tail.lines.some((l) => "invalid" in l)) {
    const total = await countLines(file, size);
    tail.lines.forEach((l, i) => l.line = total - tail.fromEnd[i]!);
  }
  for (const l of tail.lines) opts.show(l);
}

/** Reads bytes [from, to) line by line from the start of a line; returns the partial rest. */
async function showAll(
  file: Deno.FsFile,
  size: number,
  opts: {
    keep: (l: LedgerLine) => boolean;
    show: (l: LedgerLine) => void;
    unterminatedIsTorn: boolean;
    from?: number;
    firstLine?: number;
  },
): Promise<{ lines: number; rest: Uint8Array }> {
  const from = opts.from ?? 0;
  await file.seek(from, Deno.SeekMode.Start);
  let lineNo = opts.firstLine ?? 0;
  let carry: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(1 << 20);
  let read = 0;
  const each = (bytes: Uint8Array) => {
    const l = readLine(bytes, ++lineNo, false);
    if (l !== undefined && opts.keep(l)) opts.show(l);
  };
  while (read < size - from) {
    const r = await file.read(buf.subarray(0, Math.min(buf.length, size - from - read)));
    if (r === null) break;
    read += r;
    const data = new Uint8Array(carry.length + r);
    data.set(carry, 0);
    data.set(buf.subarray(0, r), carry.length);
    carry = splitLines(data, each);
  }
  if (carry.length > 0 && opts.unterminatedIsTorn) {
    const l = readLine(carry, ++lineNo, true);
    if (l !== undefined && opts.keep(l)) opts.show(l);
    carry = new Uint8Array(0);
  }
  return { lines: lineNo, rest: carry };
}

interface FollowState {
  offset: number;
  ino: number | null;
  /** Lines before `offset`, when counted. */
  lines: number | undefined;
  keep: (l: LedgerLine) => boolean;
  show: (l: LedgerLine) => void;
  out: LogOutput;
  signal: AbortSignal;
  onWatching?: () => void;
}

/**
 * Watches the ledger's directory (a rotated or re-made ledger is a new file there) and
 * reads only the bytes appended since the last look; a partial line waits for its newline.
 */
async function follow(path: string, st: FollowState): Promise<void> {
  const dir = parentDir(path);
  const name = basename(path);
  const watcher = Deno.watchFs(dir, { recursive: false });
  const stop = () => watcher.close();
  st.signal.addEventListener("abort", stop, { once: true });
  let lineNo = st.lines;
  const readNew = async () => {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return; // rotated away: wait for the new one
      throw err;
    }
    try {
      const info = await file.stat();
      if (st.ino !== null && info.ino !== st.ino) {
        st.out.err(
          `The ledger ${path} was replaced (rotated): following the new file from its start`,
        );
        st.offset = 0;
        lineNo = 0;
      } else if (info.size < st.offset) {
        st.out.err(
          `The ledger ${path} was cut back from ${st.offset} to ${info.size} bytes ` +
            "(truncated, or a torn line repaired): following from its new end",
        );
        st.offset = info.size;
        lineNo = undefined;
      }
      st.ino = info.ino;
      if (info.size <= st.offset) return;
      const { rest, lines } = await showAll(file, info.size, {
        keep: st.keep,
        show: (l) => {
          if (lineNo === undefined) l.line = undefined;
          st.show(l);
        },
        unterminatedIsTorn: false,
        from: st.offset,
        firstLine: lineNo ?? 0,
      });
      // The partial line read last time is read again with its end.
      st.offset = info.size - rest.length;
      if (lineNo !== undefined) lineNo = lines;
    } finally {
      file.close();
    }
  };
  try {
    st.onWatching?.();
    await readNew(); // anything appended before the watch began
    for await (const ev of watcher) {
      if (ev.paths.some((p) => basename(p) === name)) await readNew();
    }
  } finally {
    st.signal.removeEventListener("abort", stop);
  }
}
