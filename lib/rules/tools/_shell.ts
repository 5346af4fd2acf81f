/**
 * What a shell command given to `exec` does, as far as its text shows: OpenClaw's test for a
 * plain read-only command (a few read-only programs, no `; & | < >`, no expansion, no escape),
 * and, for the rest, the programs that delete, kill or reach the network. Pure.
 * @module
 */
import type { ToolClass } from "./tool_class.ts";

/** A class and why. */
export interface ShellVerdict {
  /** The class. */
  class: ToolClass;
  /** Why, in a few words (never the command itself). */
  why: string;
}

const READ_ONLY = new Set(["cat", "grep", "head", "ls", "pwd", "rg", "stat", "tail", "wc"]);
const UNSAFE_RG = ["--hostname-bin", "--pre", "--pre-glob", "--search-zip", "-z"];
const GH_PR_READ = new Set(["checks", "diff", "list", "status", "view"]);
const GH_ISSUE_READ = new Set(["list", "status", "view"]);
// Characters that make a command more than one plain program run (OpenClaw's list).
const COMPOUND = /[;&|<>\n\r`\\]/;
const EXPANSION = /[$*?[\]{}~]/;

const DESTRUCTIVE = new Set([
  "rm",
  "rmdir",
  "unlink",
  "shred",
  "wipe",
  "srm",
  "kill",
  "pkill",
  "killall",
  "truncate",
  "dd",
  "mkfs",
  "wipefs",
  "fdisk",
  "shutdown",
  "reboot",
  "halt",
  "poweroff",
]);
const EXTERNAL = new Set([
  "curl",
  "wget",
  "ssh",
  "scp",
  "sftp",
  "rsync",
  "nc",
  "ncat",
  "netcat",
  "telnet",
  "ftp",
  "http",
  "https",
  "aria2c",
]);
const OUTBOUND = new Set(["mail", "sendmail", "mailx", "mutt"]);

/** Splits a simple command into words (quotes grouped); undefined when it is not simple. */
export function simpleWords(command: string): string[] | undefined {
  if (COMPOUND.test(command) || EXPANSION.test(command)) return undefined;
  const words: string[] = [];
  let word = "";
  let quote: string | undefined;
  for (const ch of command) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (/\s/.test(ch)) {
      if (word !== "") words.push(word);
      word = "";
    } else {
      word += ch;
    }
  }
  if (quote !== undefined) return undefined;
  if (word !== "") words.push(word);
  return words.length > 0 ? words : undefined;
}

function readOnlySed(words: string[]): boolean {
  const args = words.slice(1);
  // GNU sed takes options after the script too: `sed -n 5p -i f` edits f in place, and a
  // script from -e or -f can write files.
  if (
    args.some((w) =>
      w === "--expression" || w.startsWith("--in-place") || w.startsWith("--file") ||
      (/^-[^-]/.test(w) && /[eif]/.test(w))
    )
  ) return false;
  let quiet = false;
  for (const w of args) {
    if (w === "--quiet" || w === "--silent") {
      quiet = true;
      continue;
    }
    if (w.startsWith("-") && w !== "-") {
      if (w.includes("n")) quiet = true;
      continue;
    }
    return quiet && /^(\d+|\$)(,(\d+|\$))?p$/.test(w);
  }
  return false;
}

function readOnlyGh(words: string[]): boolean {
  if (words.some((w) => /^--web(=|$)/i.test(w) || /^-[a-z]*w[a-z]*(=.*)?$/i.test(w))) return false;
  const area = words[1]?.toLowerCase() ?? "";
  const action = words[2]?.toLowerCase() ?? "";
  if (area === "search") return action !== "";
  if (area === "pr") return GH_PR_READ.has(action);
  if (area === "issue") return GH_ISSUE_READ.has(action);
  return false;
}

/** Whether OpenClaw counts `command` as a plain read-only shell command. */
export function isPlainReadOnly(command: string): boolean {
  const words = simpleWords(command.trim());
  if (words === undefined) return false;
  const program = words[0]!.toLowerCase();
  if (
    program === "rg" && words.some((w) => UNSAFE_RG.some((f) => w === f || w.startsWith(`${f}=`)))
  ) {
    return false;
  }
  if (READ_ONLY.has(program)) return true;
  if (program === "sed") return readOnlySed(words);
  if (program === "gh") return readOnlyGh(words);
  return false;
}

// Words that run the word after them: for each, its options that take a value as the next
// word, and how many plain words it takes before the command (timeout's duration, chroot's
// root). Every other option is a flag.
const WRAPPERS: ReadonlyMap<string, { values: readonly string[]; positional: number }> = new Map([
  ["sudo", {
    values: ["-u", "-g", "-C", "-D", "-p", "-r", "-t", "-U", "-h", "-R", "-T"],
    positional: 0,
  }],
  ["doas", { values: ["-u", "-C"], positional: 0 }],
  ["env", { values: ["-u", "-C", "-S", "--unset", "--chdir"], positional: 0 }],
  ["nohup", { values: [], positional: 0 }],
  ["time", { values: ["-f", "-o"], positional: 0 }],
  ["xargs", { values: ["-I", "-n", "-P", "-d", "-s", "-L", "-a", "-E"], positional: 0 }],
  ["command", { values: [], positional: 0 }],
  ["builtin", { values: [], positional: 0 }],
  ["exec", { values: ["-a"], positional: 0 }],
  ["nice", { values: ["-n"], positional: 0 }],
  ["ionice", { values: ["-c", "-n", "-p"], positional: 0 }],
  ["timeout", { values: ["-s", "-k", "--signal", "--kill-after"], positional: 1 }],
  ["stdbuf", { values: ["-i", "-o", "-e"], positional: 0 }],
  ["setsid", { values: [], positional: 0 }],
  ["chroot", { values: ["--userspec", "--groups"], positional: 1 }],
]);
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "fish"]);

function bareWord(w: string): string {
  return w.replace(/^\\/, "").replace(/^["']+|["']+$/g, "").split("/").pop()!.toLowerCase();
}

// The index of the word after a wrapper's options and its plain words, from `i` (just after
// the wrapper's name).
function afterWrapper(words: readonly string[], i: number, name: string): number {
  const w = WRAPPERS.get(name)!;
  let positional = w.positional;
  while (i < words.length) {
    const word = words[i]!;
    if (word === "--") return i + 1 + positional;
    if (/^-./.test(word)) {
      i += w.values.includes(word) ? 2 : 1; // "-u bob" vs "-E" or "--user=bob"
    } else if (positional > 0) {
      positional--;
      i++;
    } else break;
  }
  return i;
}

// The program of each part of a compound command (split at ; & | and newlines, after
// wrappers such as `sudo -u bob`, `timeout 5` or `command`, and variable assignments), by
// basename; a shell's `-c` script (also `-lc`, `-ec`, …) is looked into as well.
function programs(command: string, depth = 0): string[] {
  const out: string[] = [];
  for (const part of command.split(/[;&|\n\r()]+|\$\(|`/)) {
    const words = part.trim().split(/\s+/).filter((w) => w !== "");
    let i = 0;
    while (i < words.length) {
      const w = bareWord(words[i]!);
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
      else if (WRAPPERS.has(w)) i = afterWrapper(words, i + 1, w);
      else break;
    }
    const w = words[i];
    if (w === undefined) continue;
    const program = bareWord(w);
    out.push(program);
    const c = words.findIndex((x, j) => j > i && /^-[a-z]*c[a-z]*$/.test(x));
    if (SHELLS.has(program) && c > 0 && depth < 3) {
      out.push(...programs(words.slice(c + 1).join(" ").replace(/^["']|["']$/g, ""), depth + 1));
    }
    // find's -exec and -execdir run a program too.
    for (let j = i + 1; j < words.length - 1; j++) {
      if (program === "find" && /^-(exec|execdir|ok|okdir)$/.test(words[j]!)) {
        out.push(bareWord(words[j + 1]!));
      }
    }
  }
  return out;
}

/** The class of an `exec` command, and why. */
export function shellVerdict(command: string): ShellVerdict {
  if (isPlainReadOnly(command)) return { class: "read", why: "a plain read-only command" };
  const progs = programs(command);
  const find = (set: Set<string>) => progs.find((p) => set.has(p));
  const destructive = find(DESTRUCTIVE) ??
    (/\bfind\b[^;&|]*\s-delete\b/.test(command) ? "find -delete" : undefined) ??
    (/\bgit\b(\s+-C\s+\S+)*\s+(reset\s+--hard|clean\s+-[a-z]*f|push\b[^;&|]*(\s--force|\s-[a-z]*f\b))/
        .test(command)
      ? "git (discarding changes)"
      : undefined);
  if (destructive !== undefined) return { class: "destructive", why: `runs ${destructive}` };
  const outbound = find(OUTBOUND) ??
    (/\bgit\b(\s+-C\s+\S+)*\s+push\b/.test(command) ? "git push" : undefined);
  if (outbound !== undefined) return { class: "outbound", why: `runs ${outbound}` };
  const external = find(EXTERNAL) ??
    (/\bgit\b(\s+-C\s+\S+)*\s+(clone|fetch|pull|ls-remote)\b/.test(command)
      ? "git (network)"
      : undefined);
  if (external !== undefined) return { class: "external", why: `runs ${external}` };
  // Any stream sent to a file (`> f`, `2> f`, `&> f`) truncates it; `>>`, `>&2` and
  // /dev/null do not.
  if (/(^|[^>])>(?![>&]|\s*\/dev\/null(?=$|[\s;&|)]))/.test(command)) {
    return { class: "destructive", why: "overwrites a file (> redirect)" };
  }
  return {
    class: "write",
    why: COMPOUND.test(command) || EXPANSION.test(command)
      ? "not a plain command (; & | < > or an expansion)"
      : "not a read-only program",
  };
}
