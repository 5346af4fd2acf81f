/**
 * Small file-system helpers: private directories, atomic private files.
 * @module
 */
import { dirname } from "./path.ts";

/** Creates `path` and its missing parents with mode 0700. Existing directories are left as they are. */
export async function ensurePrivateDir(path: string): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) return;
    throw new Error(`Cannot create directory ${path}: a file is in the way`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  // mkdir's mode is masked by the umask; make sure of 0700 on the one we asked for.
  await Deno.chmod(path, 0o700);
}

/**
 * Replaces `path` atomically with `text` (or bytes): a 0600 temporary file beside it, fsynced,
 * then renamed over it. Readers see the old file or the new one, never a mix.
 */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  await replaceAtomically(
    path,
    (file) => writeAll(file, typeof text === "string" ? new TextEncoder().encode(text) : text),
  );
}

// UTF-8 of the text handed to a writeFileAtomicFrom producer goes through this one buffer,
// for every file: a new one per file would wait for a full GC to be freed, and while they
// waited the process grew (bench/RESULTS.md). Safe to share: producing and writing are
// synchronous, so two files never use it at once.
const PIECE = new Uint8Array(64 * 1024);

/**
 * Like writeFileAtomic, but the text comes from `produce` in pieces, written as they come:
 * a large file (a snapshot of 100,000 conversations) is never held whole, as a string or as
 * bytes. The file is opened and `produce` run synchronously, with no await between the call
 * and the last piece, so the file is one consistent moment of its source.
 */
export async function writeFileAtomicFrom(
  path: string,
  produce: (write: (text: string) => void) => void,
): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  await finishAtomically({ path, tmp, file }, () => {
    const encoder = new TextEncoder();
    produce((text) => {
      for (let rest = text; rest.length > 0;) {
        const { read, written } = encoder.encodeInto(rest, PIECE);
        writeAllSync(file, PIECE.subarray(0, written));
        rest = rest.slice(read);
      }
    });
  });
}

// Fills a 0600 temporary file beside `path` with `fill`, fsyncs it and renames it over `path`;
// on failure removes it and rethrows.
async function replaceAtomically(
  path: string,
  fill: (file: Deno.FsFile) => Promise<void> | void,
): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  await finishAtomically({ path, tmp, file }, () => fill(file));
}

// Runs `fill` on the open temporary file, fsyncs, closes and renames it over `path`; on
// failure closes and removes it and rethrows.
async function finishAtomically(
  target: { path: string; tmp: string; file: Deno.FsFile },
  fill: () => Promise<void> | void,
): Promise<void> {
  const { path, tmp, file } = target;
  try {
    await fill();
    await file.syncData();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  file.close();
  await Deno.rename(tmp, path);
}

/** Writes all of `data` to a file or connection (one write may take only part of it). */
export async function writeAll(
  to: { write(p: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < data.length) off += await to.write(data.subarray(off));
}

/** Writes all of `data` synchronously (a write may take only part of it). */
export function writeAllSync(to: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += to.writeSync(data.subarray(off));
}

/** Reads a text file, or returns undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Reads a text file that must be a regular file, or returns undefined when it does not
 * exist. A symbolic link is refused, so a link cannot point the coordinator at another file.
 */
export async function readRegularTextIfExists(path: string): Promise<string | undefined> {
  const opened = await openRegular(path, { read: true });
  if (opened === undefined) return undefined;
  try {
    return await readAllText(opened.file);
  } finally {
    opened.file.close();
  }
}

// Reads the rest of a file as UTF-8, as Deno.readTextFile does (a BOM is dropped).
async function readAllText(file: Deno.FsFile): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = await file.read(buf);
    if (n === null) break;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const chunk of chunks) {
    all.set(chunk, off);
    off += chunk.length;
  }
  return new TextDecoder().decode(all);
}

/** Why a path is not a regular file of its own: see {@link irregularFile}. */
export type IrregularReason = "symlink" | "not_file" | "replaced";

/** A path refused by {@link openRegular}: a link, not a regular file, or swapped while opened. */
export class IrregularFileError extends Error {
  /** Creates the error; `reason` says which refusal it is. */
  constructor(message: string, readonly reason: IrregularReason) {
    super(message);
    this.name = "IrregularFileError";
  }
}

const IRREGULAR_MESSAGES: Record<IrregularReason, string> = {
  symlink: "it is a symbolic link; put the file itself there",
  not_file: "it is not a regular file",
  replaced: "it was replaced while being opened (by a link or another file); try again",
};

/**
 * Whether the file opened at a path is the regular file the path's lstat (taken just before
 * the open) found: undefined when it is, else why not. The open follows links, so a link
 * swapped in after the lstat shows only as another device or inode. Where the platform
 * gives no inode (Windows), only the kinds are checked.
 */
export function irregularFile(
  linkInfo: Deno.FileInfo,
  openedInfo: Deno.FileInfo,
): IrregularReason | undefined {
  if (linkInfo.isSymlink) return "symlink";
  if (!linkInfo.isFile) return "not_file";
  if (!openedInfo.isFile) return "replaced";
  if (linkInfo.ino === null || openedInfo.ino === null) return undefined;
  if (linkInfo.dev !== openedInfo.dev || linkInfo.ino !== openedInfo.ino) return "replaced";
  return undefined;
}

/** How {@link openRegular} opens a file. */
export interface RegularOpenOptions {
  /** Opens for reading. */
  read?: boolean;
  /** Opens for writing. */
  write?: boolean;
  /** Opens for appending (writes go to the end). */
  append?: boolean;
  /** Creates the file when it does not exist (never through a link: the create is exclusive). */
  create?: boolean;
  /** The mode of a file created. */
  mode?: number;
}

/** A file opened by {@link openRegular}, and whether that open created it. */
export interface RegularFile {
  /** The open file. */
  file: Deno.FsFile;
  /** Whether this open created the file. */
  created: boolean;
}

/**
 * Opens `path` only if it is a regular file and not a symbolic link, checked both before the
 * open (lstat) and after it (the open file's own stat, see {@link irregularFile}). Returns
 * undefined when it does not exist and `create` is not set. Throws an
 * {@link IrregularFileError} for a refused path, and the file system's error otherwise.
 */
export async function openRegular(
  path: string,
  options: RegularOpenOptions,
): Promise<RegularFile | undefined> {
  for (let attempt = 0;; attempt++) {
    let linkInfo: Deno.FileInfo;
    try {
      linkInfo = await Deno.lstat(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      if (!options.create) return undefined;
      try {
        return { file: await Deno.open(path, exclusiveCreate(options)), created: true };
      } catch (err) {
        // Created by someone else since the lstat: look again, once.
        if (err instanceof Deno.errors.AlreadyExists && attempt === 0) continue;
        throw err;
      }
    }
    refuse(irregularFile(linkInfo, linkInfo));
    const file = await Deno.open(path, existingOnly(options));
    try {
      refuse(irregularFile(linkInfo, await file.stat()));
    } catch (err) {
      file.close();
      throw err;
    }
    return { file, created: false };
  }
}

/** {@link openRegular}, synchronously: for a caller whose every step but one wait is sync. */
export function openRegularSync(
  path: string,
  options: RegularOpenOptions,
): RegularFile | undefined {
  for (let attempt = 0;; attempt++) {
    let linkInfo: Deno.FileInfo;
    try {
      linkInfo = Deno.lstatSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      if (!options.create) return undefined;
      try {
        return { file: Deno.openSync(path, exclusiveCreate(options)), created: true };
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists && attempt === 0) continue;
        throw err;
      }
    }
    refuse(irregularFile(linkInfo, linkInfo));
    const file = Deno.openSync(path, existingOnly(options));
    try {
      refuse(irregularFile(linkInfo, file.statSync()));
    } catch (err) {
      file.close();
      throw err;
    }
    return { file, created: false };
  }
}

function refuse(reason: IrregularReason | undefined): void {
  if (reason !== undefined) throw new IrregularFileError(IRREGULAR_MESSAGES[reason], reason);
}

// O_CREAT|O_EXCL: fails on anything already at the path, a dangling link included.
function exclusiveCreate(options: RegularOpenOptions): Deno.OpenOptions {
  const { read = false, write = false, append = false, mode } = options;
  return { read, write, append, createNew: true, ...(mode === undefined ? {} : { mode }) };
}

function existingOnly(options: RegularOpenOptions): Deno.OpenOptions {
  const { read = false, write = false, append = false } = options;
  return { read, write, append };
}

/** The directory part of a path ("." for a bare name). */
export function parentDir(path: string): string {
  return dirname(path);
}

/** A short description of an error, for messages. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Whether `err` (or an error it wraps) is a Deno sandbox or file-mode permission denial. */
export function isPermissionError(err: unknown): boolean {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return true;
    }
    e = e.cause;
  }
  return false;
}
