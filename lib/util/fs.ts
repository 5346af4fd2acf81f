/**
 * Small file-system helpers: private directories, atomic private files.
 * @module
 */
import { dirname } from "node:path";

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
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  if (info.isSymlink) {
    throw new Error("it is a symbolic link; put the file itself there");
  }
  if (!info.isFile) throw new Error("it is not a regular file");
  return await Deno.readTextFile(path);
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
