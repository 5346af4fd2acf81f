/**
 * The short, safe description of a call's arguments the ledger keeps: a path, a command's
 * first word, a URL's host, or an action. Never the arguments themselves. Pure.
 * @module
 */

/** Longest summary kept. */
export const MAX_SUMMARY_CHARS = 120;

const PATH_KEYS = ["path", "file_path", "filePath", "file", "target", "dir", "directory"];

function bounded(s: string): string {
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, " ").toWellFormed();
  return clean.length <= MAX_SUMMARY_CHARS ? clean : `${clean.slice(0, MAX_SUMMARY_CHARS - 1)}…`;
}

/** The summary of a call of `tool` with `args` ("" when nothing safe can be said). */
export function summarize(tool: string, args: unknown): string {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return "";
  const a = args as Record<string, unknown>;
  const name = tool.toLowerCase();
  if (name === "exec" || name === "bash") {
    const c = a.command ?? a.cmd;
    if (typeof c !== "string") return "";
    const first = c.trim().split(/\s+/)[0] ?? "";
    return bounded(first.split("/").pop() ?? "");
  }
  for (const k of PATH_KEYS) {
    if (typeof a[k] === "string" && a[k] !== "") return bounded(a[k] as string);
  }
  if (typeof a.url === "string") {
    try {
      return bounded(new URL(a.url).host);
    } catch {
      return "";
    }
  }
  if (typeof a.action === "string") return bounded(`action ${a.action}`);
  return "";
}
