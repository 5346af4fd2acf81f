/**
 * `deno task start`: runs the coordinator from this checkout in the OpenClaw state
 * directory under the declared permission set (deno.json, "coordinator"), exactly as the
 * compiled binary runs under launchd or systemd.
 *
 * This launcher exists because the set's paths are relative to the working directory, and
 * Deno resolves a deno.json permission set's paths against deno.json's directory instead:
 * so it starts `deno run` with the set as flags, in the state directory. The launcher itself
 * may read, start a process and write the state directory; the coordinator it starts may
 * only do what the set allows.
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { declaredSet, permissionFlags } from "../lib/service/permissions.ts";
import { v8FlagsArg } from "../lib/service/v8_flags.ts";

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

const { dir, rest } = stateDirOf(Deno.args);
try {
  await Deno.stat(dir);
} catch {
  await makeStateDir(dir);
}

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", v8FlagsArg(), ...permissionFlags(declaredSet()), MAIN, "run", ...rest],
  cwd: dir,
  stdin: "null",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();

// The coordinator stops cleanly on SIGTERM/SIGINT: pass them on and wait for it.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  });
}
const { code, signal } = await child.status;
Deno.exit(signal ? 1 : code);
