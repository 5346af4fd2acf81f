/**
 * `deno task start` (scripts/start.ts) does not let the coordinator outlive the command that
 * started it: the README's `npx --yes deno@2.9.6 task start` and the processes under it are
 * started against the scripted legacy gateway on 127.0.0.1:18789 (the port the permission set
 * grants), one of them is signalled or killed, and every process of the command must be gone.
 * Linux only: the process tree is read from /proc.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { LegacyGateway } from "../support/legacy_gateway.ts";
import { MAIN, ROOT, tempDir, waitFor } from "../support/helpers.ts";
import { parseProcStat, type ProcStat } from "../../scripts/parent_watch.ts";

const GATEWAY_PORT = 18789;
const linux = Deno.build.os === "linux";
const START_TIMEOUT_MS = 60_000;
/** The launcher looks every 3 s; the coordinator then stops in well under a second. */
const STOP_TIMEOUT_MS = 15_000;

function startGateway(): LegacyGateway {
  try {
    return new LegacyGateway().start(GATEWAY_PORT);
  } catch (err) {
    throw new Error(
      `Cannot listen on 127.0.0.1:${GATEWAY_PORT}, the port the permission set grants: ` +
        `${(err as Error).message}; stop whatever uses it (an OpenClaw gateway?) and rerun`,
    );
  }
}

function stat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** Whether `p` still runs: its pid names the same process, and it has not exited (a zombie). */
function running(p: ProcStat): boolean {
  const now = stat(p.pid);
  return now !== undefined && now.startTime === p.startTime && now.state !== "Z" &&
    now.state !== "X";
}

/** The processes under `pid`, and theirs. */
function tree(pid: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const p = /^\d+$/.test(e.name) ? stat(Number(e.name)) : undefined;
    if (p) all.push(p);
  }
  const out: ProcStat[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const parent = todo.pop()!;
    for (const p of all) {
      if (p.ppid === parent) {
        out.push(p);
        todo.push(p.pid);
      }
    }
  }
  return out;
}

function commandLine(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  } catch {
    return [];
  }
}

/** A command that runs the coordinator through scripts/start.ts, with its processes. */
class Started {
  readonly child: Deno.ChildProcess;
  stderr = "";
  readonly #reading: Promise<void>;
  /** The command's processes under the outermost one, once the coordinator is connected. */
  processes: ProcStat[] = [];

  constructor(argv: string[], stateDir: string) {
    this.child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      cwd: ROOT,
      env: { OPENCLAW_STATE_DIR: stateDir, NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = this.child.stderr;
    this.#reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stderr) this.stderr += dec.decode(chunk, { stream: true });
    })();
  }

  /** Waits until the coordinator is subscribed to `gw`, and notes the processes then. */
  async connected(gw: LegacyGateway): Promise<void> {
    await waitFor(
      `the coordinator to subscribe (stderr so far:\n${this.stderr})`,
      () => gw.subscribers.size === 1,
      START_TIMEOUT_MS,
    );
    this.processes = [stat(this.child.pid)!, ...tree(this.child.pid)];
  }

  /** One of the noted processes, by a part of its command line. */
  find(what: (argv: string[]) => boolean, name: string): ProcStat {
    const p = this.processes.find((p) => what(commandLine(p.pid)));
    assert(p !== undefined, `no ${name} among ${this.processes.map((p) => p.comm).join(", ")}`);
    return p;
  }

  get coordinator(): ProcStat {
    return this.find((a) => a.includes(MAIN), "coordinator");
  }

  get launcher(): ProcStat {
    return this.find((a) => a.some((s) => s.endsWith("scripts/start.ts")), "start.ts");
  }

  get task(): ProcStat {
    return this.find((a) => a[1] === "task" && a[2] === "start", "deno task");
  }

  /** Waits until none of the noted processes runs, and the gateway has lost the coordinator. */
  async allGone(gw: LegacyGateway): Promise<void> {
    await waitFor(
      "every process of the command to exit",
      () => this.processes.every((p) => !running(p)),
      STOP_TIMEOUT_MS,
    ).catch((err) => {
      const left = this.processes.filter(running).map((p) => `${p.pid} ${commandLine(p.pid)[0]}`);
      throw new Error(`${(err as Error).message}; still running: ${left.join(", ")}`);
    });
    await waitFor("the gateway to lose the coordinator", () => gw.subscribers.size === 0);
  }

  /** Waits for the outermost process and the end of stderr (every holder of it has exited). */
  async done(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#reading;
    return status;
  }

  /** Kills what is left of the command, for the test's cleanup. */
  kill(): void {
    for (const p of [stat(this.child.pid)!, ...this.processes]) {
      if (p && running(p)) {
        try {
          Deno.kill(p.pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
  }
}

/** Runs `body` with a gateway, a state directory, and `argv` started in it; cleans up after. */
async function withStarted(
  argv: string[],
  body: (s: Started, gw: LegacyGateway) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const gw = startGateway();
  const started = new Started(argv, dir.path);
  try {
    await started.connected(gw);
    await body(started, gw);
  } finally {
    started.kill();
    await started.done();
    await gw.stop();
  }
}

function hasNpx(): boolean {
  try {
    return new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "the README's npx command: SIGTERM to npx stops the coordinator and every process under it",
  ignore: !linux || !hasNpx(),
  fn: () =>
    withStarted(
      ["npx", "--yes", "deno@2.9.6", "task", "start", "--protocol", "legacy"],
      async (s, gw) => {
        const coordinator = s.coordinator;
        // npm passes the SIGTERM to its `sh -c` only, which dies of it without passing it on.
        s.child.kill("SIGTERM");
        await s.allGone(gw);
        assert(!running(coordinator));
        await s.done();
        assertStringIncludes(s.stderr, "the command that started it is gone");
        assertStringIncludes(s.stderr, "INFO  stopped");
      },
    ),
});

Deno.test({
  name:
    "a shell that dies of SIGTERM without passing it on (npx's sh -c) does not leave the coordinator running",
  ignore: !linux,
  fn: () =>
    withStarted(
      // `; exit` keeps the shell from replacing itself with deno (dash does not anyway).
      ["sh", "-c", '"$0" task start --protocol legacy; exit', Deno.execPath()],
      async (s, gw) => {
        s.child.kill("SIGTERM");
        await s.allGone(gw);
        assertEquals((await s.done()).signal, "SIGTERM");
        assertStringIncludes(s.stderr, "the command that started it is gone: process");
        assertStringIncludes(s.stderr, "INFO  stopped");
      },
    ),
});

Deno.test({
  name: "deno task killed with SIGKILL: start.ts notices and stops the coordinator",
  ignore: !linux,
  fn: () =>
    withStarted(
      [Deno.execPath(), "task", "start", "--protocol", "legacy"],
      async (s, gw) => {
        assertEquals(s.task.pid, s.child.pid);
        s.child.kill("SIGKILL");
        await s.allGone(gw);
        await s.done();
        assertStringIncludes(s.stderr, "the command that started it is gone: process");
        assertStringIncludes(s.stderr, "INFO  stopped");
      },
    ),
});

Deno.test({
  name: "start.ts killed with SIGKILL: the coordinator gets SIGTERM and stops cleanly",
  ignore: !linux,
  fn: () =>
    withStarted(
      [Deno.execPath(), "task", "start", "--protocol", "legacy"],
      async (s, gw) => {
        Deno.kill(s.launcher.pid, "SIGKILL");
        await s.allGone(gw);
        await s.done();
        assertStringIncludes(s.stderr, "INFO  stopped");
      },
    ),
});

Deno.test({
  name:
    "signals to start.ts reach the coordinator, and start.ts exits with the coordinator's exit code",
  ignore: !linux,
  fn: async () => {
    // SIGINT: stopped cleanly, exit 0.
    await withStarted(
      [Deno.execPath(), "task", "start", "--protocol", "legacy"],
      async (s, gw) => {
        Deno.kill(s.launcher.pid, "SIGINT");
        await s.allGone(gw);
        assertEquals((await s.done()).code, 0, s.stderr);
        assertStringIncludes(s.stderr, "INFO  stopped");
      },
    );
    // The coordinator killed by a signal: start.ts (and deno task) report 128 + its number.
    await withStarted(
      [Deno.execPath(), "task", "start", "--protocol", "legacy"],
      async (s, gw) => {
        Deno.kill(s.coordinator.pid, "SIGKILL");
        await s.allGone(gw);
        assertEquals((await s.done()).code, 128 + 9, s.stderr);
      },
    );
  },
});

/** Runs `deno task moses-coordinator ARGS` from the checkout, as the README says. */
async function task(args: string[], opts: { stateDir: string; stdin?: string }) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "moses-coordinator", ...args],
    cwd: ROOT,
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", OPENCLAW_STATE_DIR: opts.stateDir },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task moses-coordinator runs every command from the checkout, in the state directory, under the declared set", async () => {
  await using tmp = await tempDir();
  const ledger = `${tmp.path}/audits/moses/audit_ledger.jsonl`;
  await Deno.mkdir(`${tmp.path}/audits/moses`, { recursive: true });
  const py = await new Deno.Command("python3", {
    args: [`${ROOT}/tests/support/moses_ledger.py`, "log", ledger, "--detail", "from python"],
  }).output();
  assert(py.success);

  const perms = await task(["permissions"], { stateDir: tmp.path });
  assertEquals(perms.code, 0, perms.stderr);
  assertStringIncludes(perms.stdout, `${tmp.path}/audits/moses`);
  assertStringIncludes(perms.stdout, "Every declared grant is live.");
  // Under the set, not -A: nothing is granted beyond it.
  assert(!perms.stdout.includes("Granted beyond the set"), perms.stdout);

  const replay = await task(["replay", "-", "--ledger", "audits/moses/audit_ledger.jsonl"], {
    stateDir: tmp.path,
    stdin: '{"type":"session_update","session_id":"s1","agent":"observer"}\n',
  });
  assertEquals(replay.code, 0, replay.stderr);
  assertStringIncludes(replay.stdout, "observer responded, expected primary");

  const verify = await task(["verify"], { stateDir: tmp.path });
  assertEquals(verify.code, 0, verify.stdout + verify.stderr);
  assertStringIncludes(verify.stdout, "Ledger intact: 2 entries");

  const log = await task(["log", "-n", "2"], { stateDir: tmp.path });
  assertEquals(log.code, 0, log.stderr);
  assertStringIncludes(log.stdout, "from python");
  assertStringIncludes(log.stdout, "sequence_violation");

  const report = await task(["report", "--json"], { stateDir: tmp.path });
  assertEquals(report.code, 0, report.stderr);
  assertEquals(JSON.parse(report.stdout).chain.ok, true);

  const status = await task(["status"], { stateDir: tmp.path });
  assertEquals(status.code, 66);
  assertStringIncludes(status.stderr, "No status file at audits/moses/coordinator/status.json");

  const missing = await task(["log"], { stateDir: `${tmp.path}/nope` });
  assertEquals(missing.code, 66);
  assertStringIncludes(missing.stderr, "it does not exist");
  await assertRejectsNotFound(`${tmp.path}/nope`);
});

async function assertRejectsNotFound(path: string): Promise<void> {
  try {
    await Deno.stat(path);
  } catch (err) {
    assert(err instanceof Deno.errors.NotFound);
    return;
  }
  throw new Error(`${path} was made: only run makes the state directory`);
}
