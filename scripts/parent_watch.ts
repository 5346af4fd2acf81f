/**
 * How `deno task start` (scripts/start.ts) notices that the command that started it is gone, so
 * that the coordinator does not outlive it.
 *
 * The README's `npx --yes deno@2.9.6 task start` runs as
 * `npm exec` (node) → `sh -c deno task start` → `deno task` → `deno run scripts/start.ts` →
 * `deno run main.ts` (the coordinator), all in the process group the shell gave the command.
 * A SIGTERM to npx is passed on to `sh` only, which dies of it without passing it on: `deno task`,
 * start.ts and the coordinator are left running, orphaned, and no signal ever reaches them. A
 * SIGKILL to any of them leaves the ones below running too. Nothing tells a process that an
 * ancestor exited, so start.ts looks: every {@link WATCH_INTERVAL_MS} it reads the /proc entries
 * of the processes between it and the command that was typed (its parent, and each further
 * ancestor in its process group) and stops the coordinator when one is gone. (So a command put in
 * the background by a script, in the script's group, stops with the script: `setsid` detaches it.)
 *
 * Deno lets a process read /proc/PID only with --allow-all, which the launcher does not have; it
 * may start processes, so `cat` reads the entries for it: one short process every 3 s. Where
 * there is no /proc (macOS), only the parent is watched, through `Deno.ppid` (it changes when an
 * orphan is adopted).
 * @module
 */
import type { Clock, TimerId } from "../lib/util/clock.ts";

/**
 * How often start.ts looks at its ancestors: one `cat` of a few small /proc files every 3 s is
 * nothing next to the coordinator's own work, and the coordinator stops within 3 s of the command.
 */
export const WATCH_INTERVAL_MS = 3_000;

/** The fields of /proc/PID/stat that tell a process and its place in the tree. */
export interface ProcStat {
  pid: number;
  /** The executable's name, as the kernel keeps it (at most 15 characters). */
  comm: string;
  /** R, S, D, Z (exited, not yet reaped), X (dead), … */
  state: string;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot when it started: with the pid, it names one process (pids are reused). */
  startTime: number;
}

/** Reads the /proc/PID/stat entries of `pids`; a process without one is left out of the map. */
export type StatReader = (pids: number[]) => Promise<Map<number, ProcStat>>;

/** Parses one /proc/PID/stat line; undefined when it is not one. */
export function parseProcStat(line: string): ProcStat | undefined {
  // "pid (comm) state ppid pgid session tty tpgid flags … starttime …": comm may hold spaces and
  // parentheses, so the fields after it are read from its last ")".
  const open = line.indexOf(" (");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = line.slice(close + 2).split(" ");
  const pid = Number(line.slice(0, open));
  const ppid = Number(rest[1]);
  const pgid = Number(rest[2]);
  // starttime is the 22nd field; rest starts at the 3rd.
  const startTime = Number(rest[19]);
  if (![pid, ppid, pgid, startTime].every(Number.isInteger) || !rest[0]) return undefined;
  return { pid, comm: line.slice(open + 2, close), state: rest[0], ppid, pgid, startTime };
}

/** Reads /proc/PID/stat entries (Linux) with one `cat`. */
export const readProcStats: StatReader = async (pids) => {
  const out = new Map<number, ProcStat>();
  if (pids.length === 0) return out;
  // cat prints the entries there are and fails for the others: its status says nothing more.
  const { stdout } = await new Deno.Command("cat", {
    args: pids.map((pid) => `/proc/${pid}/stat`),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const stat = parseProcStat(line);
    if (stat !== undefined && pids.includes(stat.pid)) out.set(stat.pid, stat);
  }
  return out;
};

/**
 * The processes whose end means that the command that started `self` has ended: its parent, and
 * each further ancestor in its process group (the job a shell started: npx, its `sh -c`, deno
 * task). Ancestors outside the group (the interactive shell, a terminal) are not the command: a
 * command started with `nohup … &` or `setsid` is meant to outlive them. Init (pid 1) never ends
 * and is left out. Empty when `self` cannot be read.
 */
export async function launchersOf(self: number, read: StatReader): Promise<ProcStat[]> {
  const me = (await read([self])).get(self);
  if (me === undefined) return [];
  const out: ProcStat[] = [];
  let next = me.ppid;
  while (next > 1) {
    const p = (await read([next])).get(next);
    if (p === undefined || (out.length > 0 && p.pgid !== me.pgid)) break;
    out.push(p);
    if (p.pgid !== me.pgid || p.pid === me.pgid) break; // the parent outside, or the group's leader
    next = p.ppid;
  }
  return out;
}

/**
 * The first of `watched` that has exited (no entry, a zombie, or its pid now another process's),
 * or undefined while all run.
 */
export async function goneOf(
  watched: ProcStat[],
  read: StatReader,
): Promise<ProcStat | undefined> {
  const now = await read(watched.map((w) => w.pid));
  return watched.find((w) => {
    const p = now.get(w.pid);
    return p === undefined || p.startTime !== w.startTime || p.state === "Z" || p.state === "X";
  });
}

/** Options of {@link watch}. */
export interface WatchOptions {
  /** Says why the command is gone, or undefined while it runs. */
  check: () => Promise<string | undefined>;
  /** Called once, with what `check` said the first time it said something. */
  onGone: (reason: string) => void;
  clock: Clock;
  /** The time between the end of one check and the start of the next. */
  intervalMs?: number;
}

/**
 * Calls `check` every `intervalMs` (default {@link WATCH_INTERVAL_MS}) until it says the command
 * is gone; then calls `onGone` once and stops. Returns a function that stops the watch.
 */
export function watch(opts: WatchOptions): () => void {
  const { check, onGone, clock, intervalMs = WATCH_INTERVAL_MS } = opts;
  let timer: TimerId | undefined;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    const reason = await check();
    if (stopped) return;
    if (reason !== undefined) {
      stopped = true;
      onGone(reason);
      return;
    }
    timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}

/** Options of {@link launcherCheck}. */
export interface LauncherCheckOptions {
  os: typeof Deno.build.os;
  /** The launcher's own process id. */
  self: number;
  /** Its parent's process id, read again at each call. */
  ppid: () => number;
  read?: StatReader;
}

/**
 * What start.ts watches: on Linux its launchers ({@link launchersOf}) through /proc; elsewhere only
 * its parent, which is gone when the parent process id changes (an orphan is adopted). Returns the
 * check for {@link watch}, or undefined when there is nothing to watch.
 */
export async function launcherCheck(
  opts: LauncherCheckOptions,
): Promise<(() => Promise<string | undefined>) | undefined> {
  const { os, self, ppid, read = readProcStats } = opts;
  if (os !== "linux") {
    const parent = ppid();
    if (parent <= 1) return undefined;
    return () =>
      Promise.resolve(ppid() === parent ? undefined : `its parent process ${parent} exited`);
  }
  let watched: ProcStat[];
  try {
    watched = await launchersOf(self, read);
  } catch {
    return undefined; // no cat to read /proc with: nothing can be watched
  }
  if (watched.length === 0) return undefined;
  return async () => {
    let gone: ProcStat | undefined;
    try {
      gone = await goneOf(watched, read);
    } catch {
      return undefined; // could not look this time (out of processes?): look again next time
    }
    return gone && `process ${gone.pid} (${gone.comm}) exited`;
  };
}
