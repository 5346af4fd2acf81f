/**
 * The few path operations the command line needs at start-up (`join`, `dirname`,
 * `isAbsolute`, `resolve`), giving what `node:path` gives. Importing any `node:` module
 * starts Deno's Node layer, about 20 ms of every `--help`, `status` and `verify`; on POSIX
 * these are done here, on Windows (drive letters, UNC names) by `node:path` itself, loaded on
 * first use.
 * @module
 */

interface PathModule {
  join(...parts: string[]): string;
  dirname(path: string): string;
  isAbsolute(path: string): boolean;
  resolve(...parts: string[]): string;
}

let windows: PathModule | undefined;

// node:path on Windows, loaded on first use (synchronously, so these stay synchronous).
function win(): PathModule | undefined {
  if (Deno.build.os !== "windows") return undefined;
  // deno-lint-ignore no-process-global
  windows ??= process.getBuiltinModule("node:path") as PathModule;
  return windows;
}

/** `path` with `.` and `..` segments resolved and repeated separators merged (POSIX). */
export function normalizePosix(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") segments.push(segment);
    // Above the root is the root; above a relative start, `..` stays.
    else if (segments.length > 0 && segments[segments.length - 1] !== "..") segments.pop();
    else if (!absolute) segments.push("..");
  }
  let out = (absolute ? "/" : "") + segments.join("/");
  if (out === "") out = ".";
  if (path.endsWith("/") && out !== "/") out += "/";
  return out;
}

/** The non-empty `parts` joined by separators, normalized ("." for none). */
export function join(...parts: string[]): string {
  const w = win();
  if (w) return w.join(...parts);
  const joined = parts.filter((p) => p.length > 0).join("/");
  return joined === "" ? "." : normalizePosix(joined);
}

/** The directory part of `path` ("." for a bare name). */
export function dirname(path: string): string {
  const w = win();
  if (w) return w.dirname(path);
  if (path === "") return ".";
  // Past any separators at the end (not a leading one), then past the last name.
  let i = path.length - 1;
  while (i >= 1 && path[i] === "/") i--;
  while (i >= 1 && path[i] !== "/") i--;
  // i is the separator before the last name, or 0 when there is none past the start.
  if (i >= 1) return i === 1 && path[0] === "/" ? "//" : path.slice(0, i);
  return path[0] === "/" ? "/" : ".";
}

/** Whether `path` is absolute. */
export function isAbsolute(path: string): boolean {
  const w = win();
  if (w) return w.isAbsolute(path);
  return path.startsWith("/");
}

/** `path` made absolute against the working directory, normalized, without a trailing separator. */
export function resolve(path: string): string {
  const w = win();
  if (w) return w.resolve(path);
  const full = normalizePosix(isAbsolute(path) ? path : `${Deno.cwd()}/${path}`);
  return full.length > 1 && full.endsWith("/") ? full.slice(0, -1) : full;
}
