/**
 * The short, safe description of a call's arguments the ledger keeps: a path, a command's
 * first word, a URL's host, or an action. Never the arguments themselves. Pure.
 * @module
 */
import { NAMED_ACTIONS } from "./classify.ts";

/** Longest summary kept. */
export const MAX_SUMMARY_CHARS = 120;

// Not `target` or `to`: for a message those name a person.
const PATH_KEYS = ["path", "file_path", "filePath", "file", "dir", "directory"];

function bounded(s: string): string {
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, " ").toWellFormed();
  return clean.length <= MAX_SUMMARY_CHARS ? clean : `${clean.slice(0, MAX_SUMMARY_CHARS - 1)}…`;
}

// Variable assignments before a command's program (`TOKEN=… curl`): often secrets.
const ASSIGNMENTS = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|[^\s"'])*\s+)*/;

// The basename of a command's program, cut at the first character that cannot be part of a
// name (so `curl${IFS}https://…` gives `curl`); "" when there is none.
function programName(command: string): string {
  const rest = command.replace(ASSIGNMENTS, "").replace(/^["']/, "");
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest)) return "";
  const path = /^[\w./+-]*/.exec(rest)![0];
  return path.split("/").pop() ?? "";
}

/** The summary of a call of `tool` with `args` ("" when nothing safe can be said). */
export function summarize(tool: string, args: unknown): string {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return "";
  const a = args as Record<string, unknown>;
  const name = tool.toLowerCase();
  if (name === "exec" || name === "bash") {
    const c = a.command ?? a.cmd;
    if (typeof c !== "string") return "";
    return bounded(programName(c));
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
  // Only an action from the known list: any other is the agent's own text.
  if (typeof a.action === "string") {
    const action = a.action.trim().toLowerCase().replace(/[\s-]+/g, "_");
    return NAMED_ACTIONS.has(action) ? `action ${action}` : "";
  }
  return "";
}
