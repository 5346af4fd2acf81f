/** Shared helpers for the tests: temporary state directories, the CLI as a process, Python. */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { StatusReport } from "../../lib/service/status.ts";
import { declaredSet, permissionFlags } from "../../lib/service/permissions.ts";
import { v8FlagsArg } from "../../lib/service/v8_flags.ts";
import { assertEquals } from "./assert.ts";

/** The repository root. */
export const ROOT: string = fromFileUrl(new URL("../..", import.meta.url));
/** main.ts, as users run it. */
export const MAIN: string = join(ROOT, "main.ts");
/** The independent Python ledger implementation. */
export const PY_LEDGER: string = join(ROOT, "tests", "support", "moses_ledger.py");

/** A temporary state directory that removes itself: `await using dir = await tempDir();`. */
export interface TempDir extends AsyncDisposable {
  /** Its path. */
  readonly path: string;
  /** `path` joined with `parts`. */
  join(...parts: string[]): string;
}

/** Creates a temporary state directory, removed (with everything in it) when disposed. */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "moses-coord-test-" });
  return {
    path,
    join: (...parts) => join(path, ...parts),
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** The default ledger path under a state directory. */
export function ledgerPath(stateDir: string): string {
  return join(stateDir, "audits", "moses", "audit_ledger.jsonl");
}

/** The output of a finished process. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The coordinator's V8 flags and the declared permission set as flags, for the coordinator run
 * in its state directory as the working directory; `port` moves the net grant to a test
 * gateway's port.
 */
export function sandboxFlags(port?: number): string[] {
  const set = declaredSet();
  return [
    v8FlagsArg(),
    ...permissionFlags(set, port === undefined ? undefined : [`127.0.0.1:${port}`]),
  ];
}

/** Runs the CLI with `args` in `cwd` under the given permission flags and waits for it. */
export async function runCli(
  args: string[],
  opts: { cwd?: string; flags?: string[]; stdin?: string } = {},
): Promise<Ran> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(opts.flags ?? ["-A"]), MAIN, ...args],
    cwd: opts.cwd,
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const child = cmd.spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the Python ledger implementation. */
export async function python(args: string[], stdin?: string): Promise<Ran> {
  const cmd = new Deno.Command("python3", {
    args: [PY_LEDGER, ...args],
    stdin: stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Reads a ledger's lines as parsed objects (blank lines skipped). */
export async function readLedger(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** The ledger's entries under a state directory, or none when there is no ledger yet. */
export async function ledgerLines(stateDir: string): Promise<Record<string, unknown>[]> {
  try {
    return await readLedger(ledgerPath(stateDir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** The conversation of each violation line. */
export function conversations(lines: Record<string, unknown>[]): string[] {
  return lines.map((l) => (l.violation as { conversation: string }).conversation);
}

/**
 * Waits until the ledger under `stateDir` holds at least as many violation lines as
 * `expected` and a later status shows nothing more on its way (see {@link settledStatus}),
 * then asserts their conversations are `expected` in order, and returns the lines. A doubled
 * line found by then fails the assertion, as does one too many.
 */
export async function expectViolationLines(
  stateDir: string,
  expected: string[],
  timeoutMs = 20_000,
): Promise<Record<string, unknown>[]> {
  await waitFor(
    `ledger lines for ${expected.join(", ")}`,
    async () => (await ledgerLines(stateDir)).length >= expected.length,
    timeoutMs,
  );
  await settledStatus(stateDir, Date.now(), timeoutMs);
  const lines = await ledgerLines(stateDir);
  assertEquals(conversations(lines), expected);
  return lines;
}

/**
 * Waits for a status written after `since` (ms since the epoch) that shows the running daemon
 * with nothing on its way to the ledger: no catch-up under way, every violation it counted
 * written, none pending. An older status could predate what the test waits for. The counters
 * are this run's: a daemon that skipped a violation already in the ledger never settles.
 */
export async function settledStatus(
  stateDir: string,
  since: number,
  timeoutMs = 20_000,
): Promise<StatusReport> {
  let last: StatusReport | undefined;
  try {
    await waitFor("a status with every violation written", async () => {
      const s = last = await statusOf(stateDir);
      return s !== undefined && Date.parse(s.updatedAt) > since &&
        !s.reasons.includes("catching up on missed messages") &&
        s.counters.violations === s.ledger.written && s.ledger.pending === 0;
    }, timeoutMs);
  } catch (err) {
    const seen = last && {
      updatedAt: last.updatedAt,
      state: last.state,
      reasons: last.reasons,
      violations: last.counters.violations,
      ledger: last.ledger,
    };
    throw new Error(`${(err as Error).message}; the last status: ${JSON.stringify(seen)}`);
  }
  return last!;
}

/** What the daemon last wrote to its status file, or undefined when there is none (yet). */
export async function statusOf(stateDir: string): Promise<StatusReport | undefined> {
  try {
    return JSON.parse(
      await Deno.readTextFile(join(stateDir, "audits/moses/coordinator/status.json")),
    );
  } catch {
    return undefined; // not written yet, or caught mid-rename
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; throws with `what` on timeout. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A coordinator process running in the background, with its stderr collected. */
export class Daemon {
  readonly child: Deno.ChildProcess;
  stderr = "";
  stdout = "";
  readonly #done: Promise<Deno.CommandStatus>;
  readonly #reading: Promise<void>;

  constructor(
    args: string[],
    opts: { cwd: string; flags?: string[]; env?: Record<string, string> },
  ) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...(opts.flags ?? ["-A"]), MAIN, "run", ...args],
      cwd: opts.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...(opts.env ?? {}) },
    }).spawn();
    const { stderr, stdout } = this.child;
    this.#reading = Promise.all([
      (async () => {
        const dec = new TextDecoder();
        for await (const chunk of stderr) this.stderr += dec.decode(chunk, { stream: true });
      })(),
      (async () => {
        const dec = new TextDecoder();
        for await (const chunk of stdout) this.stdout += dec.decode(chunk, { stream: true });
      })(),
    ]).then(() => {});
    this.#done = this.child.status;
  }

  /** Sends SIGTERM and waits for the exit status. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.#done;
    await this.#reading;
    return status;
  }

  /** Waits for the process to exit on its own. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.#done;
    await this.#reading;
    return status;
  }
}
