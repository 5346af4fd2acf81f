/**
 * `deno task start`: runs the coordinator from this checkout in the OpenClaw state
 * directory under the declared permission set (deno.json, "coordinator"), exactly as the
 * compiled binary runs under launchd or systemd. `deno task moses-coordinator COMMAND …`
 * runs any other command (`status`, `verify`, `permissions`, `replay`, `log`, `report`) the
 * same way; only `run` makes the state directory when it is missing.
 *
 * This launcher exists because the set's paths are relative to the working directory, and
 * Deno resolves a deno.json permission set's paths against deno.json's directory instead:
 * so it starts `deno run` with the set as flags, in the state directory. The launcher itself
 * may read, start a process and write the state directory; the coordinator it starts may
 * only do what the set allows.
 *
 * The coordinator does not outlive the command that started it:
 * - SIGTERM, SIGINT and SIGHUP reaching the launcher are passed on (SIGHUP as SIGTERM, which the
 *   coordinator stops cleanly on), and the launcher exits with the coordinator's exit code (128 +
 *   the signal's number when a signal ended it).
 * - When the command above the launcher is gone without a signal reaching it (npx killed: it
 *   passes SIGTERM to its `sh -c` only; or `deno task` killed with SIGKILL), the launcher notices
 *   within 3 s (it looks every 3 s: scripts/parent_watch.ts) and stops the coordinator.
 * - When the launcher itself is killed with SIGKILL, the kernel sends the coordinator SIGTERM: on
 *   Linux it is started through `setpriv --pdeathsig TERM` (util-linux), when that is there.
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { declaredSet, permissionFlags } from "../lib/service/permissions.ts";
import { v8FlagsArg } from "../lib/service/v8_flags.ts";
import { systemClock, type TimerId } from "../lib/util/clock.ts";
import { launcherCheck, watch } from "./parent_watch.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** The state directory: --state-dir DIR among `args`, else $OPENCLAW_STATE_DIR, else ~/.openclaw. */
function stateDirOf(args: string[]): { dir: string; rest: string[] } {
  const rest = [...args];
  const i = rest.findIndex((a) => a === "--state-dir" || a.startsWith("--state-dir="));
  if (i >= 0) {
    const arg = rest[i]!;
    const dir = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : rest[i + 1];
    rest.splice(i, arg.includes("=") ? 1 : 2);
    // deno task runs in deno.json's directory; a relative path means the caller's.
    if (dir) return { dir: resolve(Deno.env.get("INIT_CWD") ?? ".", dir), rest };
  }
  const fromEnv = Deno.env.get("OPENCLAW_STATE_DIR");
  if (fromEnv) return { dir: fromEnv, rest };
  const home = Deno.env.get("HOME");
  if (!home) {
    console.error(
      "Cannot find the OpenClaw state directory: HOME is not set; pass --state-dir DIR",
    );
    Deno.exit(2);
  }
  return { dir: join(home, ".openclaw"), rest };
}

/** Makes the state directory (0700), or says why it cannot and exits 1. */
async function makeStateDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const why = err instanceof Deno.errors.NotCapable
      ? "this launcher creates only ~/.openclaw"
      : (err as Error).message;
    console.error(
      `Cannot create the OpenClaw state directory ${dir}: ${why}; create it first, or pass ` +
        "--state-dir DIR",
    );
    Deno.exit(1);
  }
}

/** The commands the launcher runs; with none named (`deno task start`), `run`. */
const COMMANDS = ["run", "status", "verify", "permissions", "replay", "log", "report"];
const named = COMMANDS.includes(Deno.args[0] ?? "");
const command = named ? Deno.args[0]! : "run";
const { dir, rest } = stateDirOf(named ? Deno.args.slice(1) : Deno.args);
try {
  await Deno.stat(dir);
} catch {
  if (command !== "run") {
    console.error(
      `Cannot use state directory ${dir}: it does not exist; create it or pass the OpenClaw ` +
        "state directory with --state-dir DIR (or OPENCLAW_STATE_DIR)",
    );
    Deno.exit(66);
  }
  await makeStateDir(dir);
}

/** How long the coordinator gets to stop after the launcher's SIGTERM, as under the service (20 s). */
const STOP_TIMEOUT_MS = 20_000;

/**
 * `setpriv`'s path when it can give the coordinator a parent-death signal (util-linux 2.33 or
 * later, Linux only), else undefined.
 */
async function pdeathsigWrapper(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const probe = await new Deno.Command("setpriv", {
      args: ["--pdeathsig", "TERM", "--", Deno.execPath(), "--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success ? "setpriv" : undefined;
  } catch {
    return undefined; // not installed
  }
}

const coordinator = [
  Deno.execPath(),
  "run",
  v8FlagsArg(),
  ...permissionFlags(declaredSet()),
  MAIN,
  command,
  ...rest,
];
const wrapper = await pdeathsigWrapper();
// The signal goes to the coordinator when the thread that started it ends: Deno starts processes
// from its main thread, which lives as long as the launcher.
const argv = wrapper ? [wrapper, "--pdeathsig", "TERM", "--", ...coordinator] : coordinator;
const child = new Deno.Command(argv[0]!, {
  args: argv.slice(1),
  cwd: dir,
  // replay - reads a recording on standard input; the daemon reads nothing there.
  stdin: command === "run" ? "null" : "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();

function pass(signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

// The coordinator stops cleanly on SIGTERM/SIGINT: pass them on and wait for it. SIGHUP (the
// terminal closed) would end the launcher without a word to the coordinator: pass it as SIGTERM.
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => pass(signal === "SIGHUP" ? "SIGTERM" : signal));
}

const check = await launcherCheck({ os: Deno.build.os, self: Deno.pid, ppid: () => Deno.ppid });
let killTimer: TimerId | undefined;
const stopWatching = check === undefined ? () => {} : watch({
  check,
  clock: systemClock,
  onGone: (reason) => {
    console.error(`Stopping the coordinator: the command that started it is gone: ${reason}`);
    pass("SIGTERM");
    killTimer = systemClock.setTimeout(() => pass("SIGKILL"), STOP_TIMEOUT_MS);
  },
});

const { code } = await child.status;
stopWatching();
systemClock.clearTimeout(killTimer);
// code is 128 + the signal's number when a signal ended the coordinator, as a shell reports it.
Deno.exit(code);
