/**
 * `deno task bench --only idle`: what each process costs while nothing happens, side by side in
 * one run, from /proc over one window (`--window S`, 60 s by default):
 *
 * - the coordinator connected to a real, idle OpenClaw gateway (under its permission set);
 * - that gateway itself (a Node process);
 * - the coordinator connected to an idle legacy gateway (scripted, in this process);
 * - the seed's Python coordinator (bench/seed_coordinator.py, needs Python's `websockets`)
 *   connected to the same idle legacy gateway.
 *
 * CPU is utime+stime (/proc/PID/stat, every thread) and the time on CPU the scheduler counted
 * (/proc/PID/task/T/schedstat, ns); writes are write_bytes (what reached the disk layer), wchar
 * and syscw (/proc/PID/io); wake-ups are voluntary and involuntary context switches, of every
 * thread (/proc/PID/task/T/status) and of the main thread alone; resident memory is VmRSS at the
 * end. Each state directory holds a governance/state.json, as MO§ES's do (while it is
 * missing, the coordinator looks for it every 5 s: it may watch the file, not its directory).
 * The coordinator runs as `deno run main.ts run`, not through `deno task start`: the dev
 * launcher's ancestor watch (scripts/parent_watch.ts, one `cat` every 3 s) is a process of its
 * own and not part of the coordinator.
 * @module
 */
import { join } from "node:path";
import { fmt } from "./load.ts";

/** Options of the idle benchmark. */
export interface IdleOptions {
  /** The measuring window, in seconds. */
  windowS: number;
  /** How long every process is left alone after start-up before the window, in seconds. */
  settleS: number;
}

/** The options from the command line (`--window S`, `--settle S`). */
export function idleOptions(values: Record<string, unknown>): IdleOptions {
  const w = values.window === undefined ? 60 : Number(values.window);
  const s = values.settle === undefined ? 60 : Number(values.settle);
  if (!(w > 0)) {
    throw new Error(`--window must be a positive number of seconds, not ${values.window}`);
  }
  if (!(s >= 0)) throw new Error(`--settle must be a number of seconds, not ${values.settle}`);
  return { windowS: w, settleS: s };
}

/** Counters of one process at one moment. */
interface Sample {
  cpuTicks: number;
  writeBytes: number;
  wchar: number;
  syscw: number;
  /** Context switches and time on CPU of each thread, by thread id. */
  threads: Map<string, { wakeups: number; cpuNs: number }>;
  mainWakeups: number;
  rssKb: number;
}

const CLK_TCK = 100;

/**
 * Per-thread counters over the window: a thread's growth, or all it counted if it started
 * within the window (one that ended within it is lost; few do while idle).
 */
function threadDelta(b: Sample, a: Sample, k: "wakeups" | "cpuNs"): number {
  let sum = 0;
  for (const [tid, t] of a.threads) sum += t[k] - (b.threads.get(tid)?.[k] ?? 0);
  return sum;
}

async function sample(pid: number): Promise<Sample> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces), from field 3 on.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuTicks = Number(f[11]) + Number(f[12]);
  const io = field(await Deno.readTextFile(`/proc/${pid}/io`));
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const st = field(status);
  const threads = new Map<string, { wakeups: number; cpuNs: number }>();
  for await (const t of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const ts = field(await Deno.readTextFile(`/proc/${pid}/task/${t.name}/status`));
      const sched = await Deno.readTextFile(`/proc/${pid}/task/${t.name}/schedstat`);
      threads.set(t.name, {
        wakeups: ts("voluntary_ctxt_switches") + ts("nonvoluntary_ctxt_switches"),
        cpuNs: Number(sched.split(" ")[0]),
      });
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return {
    cpuTicks,
    threads,
    writeBytes: io("write_bytes"),
    wchar: io("wchar"),
    syscw: io("syscw"),
    mainWakeups: st("voluntary_ctxt_switches") + st("nonvoluntary_ctxt_switches"),
    rssKb: st("VmRSS"),
  };
}

function field(text: string): (name: string) => number {
  const map = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) map.set(m[1]!, Number(m[2]));
  }
  return (name) => map.get(name) ?? NaN;
}

/** One process measured over the window, per minute. */
interface Row {
  name: string;
  pid: number;
  before?: Sample;
  after?: Sample;
}

/** Runs the idle benchmark; `report` prints one figure. */
export async function idleBench(
  opts: IdleOptions,
  report: (name: string, value: string) => void,
): Promise<void> {
  const { OpenClawGateway } = await import("../tests/support/openclaw_gateway.ts");
  const { LegacyGateway } = await import("../tests/support/legacy_gateway.ts");
  const { Daemon, sandboxFlags, statusOf, tempDir } = await import("../tests/support/helpers.ts");
  const gw = await OpenClawGateway.start();
  const legacy = new LegacyGateway().start();
  await using legacyDir = await tempDir();
  const stateDir = join(gw.home, ".openclaw");
  // MO§ES keeps a governance state in every state directory it governs.
  for (const dir of [stateDir, legacyDir.path]) {
    await Deno.mkdir(join(dir, "governance"), { recursive: true });
    await Deno.writeTextFile(join(dir, "governance", "state.json"), '{"mode": "default"}\n');
  }
  const daemons: InstanceType<typeof Daemon>[] = [];
  let seed: Deno.ChildProcess | undefined;
  try {
    const onOpenClaw = new Daemon(["--gateway", gw.url], {
      cwd: stateDir,
      flags: sandboxFlags(gw.port),
    });
    daemons.push(onOpenClaw);
    const onLegacy = new Daemon(["--gateway", legacy.url, "--protocol", "legacy"], {
      cwd: legacyDir.path,
      flags: sandboxFlags(legacy.port),
    });
    daemons.push(onLegacy);
    seed = startSeed(legacy.url);
    // Connected, caught up, and legacy subscribers in place: then nothing more happens.
    const deadline = Date.now() + 60_000;
    const settled = async () =>
      (await statusOf(stateDir))?.reasons.length === 0 &&
      (await statusOf(stateDir))?.state === "CONNECTED" &&
      (await statusOf(legacyDir.path))?.state === "CONNECTED" &&
      legacy.subscribers.size === (seed ? 2 : 1);
    while (!(await settled())) {
      if (Date.now() > deadline) {
        throw new Error(
          `The processes did not settle within 60 s: ${onOpenClaw.stderr}\n${onLegacy.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    // Start-up work (the gateway's above all) is over before the window opens.
    await new Promise((r) => setTimeout(r, opts.settleS * 1000));
    const rows: Row[] = [
      { name: "coordinator, OpenClaw gateway", pid: onOpenClaw.child.pid },
      { name: "OpenClaw gateway (Node)", pid: gw.pid! },
      { name: "coordinator, legacy gateway", pid: onLegacy.child.pid },
      ...(seed ? [{ name: "seed Python coordinator, legacy gateway", pid: seed.pid }] : []),
    ];
    report("idle: load average before the window", Deno.loadavg().map((l) => fmt(l, 2)).join(" "));
    for (const r of rows) r.before = await sample(r.pid);
    await new Promise((r) => setTimeout(r, opts.windowS * 1000));
    for (const r of rows) r.after = await sample(r.pid);
    const perMin = 60 / opts.windowS;
    for (const r of rows) {
      const a = r.after!;
      const b = r.before!;
      const d = (k: "cpuTicks" | "writeBytes" | "wchar" | "syscw" | "mainWakeups") =>
        (a[k] - b[k]) * perMin;
      const t = (k: "wakeups" | "cpuNs") => threadDelta(b, a, k) * perMin;
      report(
        `idle ${r.name}: CPU ms/min (stat / schedstat)`,
        `${fmt(d("cpuTicks") * (1000 / CLK_TCK))} / ${fmt(t("cpuNs") / 1e6, 1)}`,
      );
      report(
        `idle ${r.name}: write_bytes / wchar B/min, write calls/min`,
        `${fmt(d("writeBytes"))} / ${fmt(d("wchar"))}, ${fmt(d("syscw"))}`,
      );
      report(
        `idle ${r.name}: wake-ups/min (all threads / main thread)`,
        `${fmt(t("wakeups"))} / ${fmt(d("mainWakeups"))}`,
      );
      report(`idle ${r.name}: resident memory, MB`, fmt(a.rssKb / 1024, 1));
    }
    if (!seed) {
      report(
        "idle seed Python coordinator",
        "not run: Python's websockets module is missing (apt-get install python3-websockets)",
      );
    }
    report(`idle: window, s (figures scaled to a minute)`, fmt(opts.windowS));
  } finally {
    for (const d of daemons) await d.stop().catch(() => {});
    if (seed) {
      try {
        seed.kill("SIGTERM");
      } catch { /* gone */ }
      await seed.status;
    }
    await legacy.stop();
    await gw.stop();
  }
}

// The seed's coordinator, when Python has websockets.
function startSeed(url: string): Deno.ChildProcess | undefined {
  const python = ["python3", "/usr/bin/python3"].find((py) => {
    try {
      return new Deno.Command(py, { args: ["-c", "import websockets"] }).outputSync().success;
    } catch {
      return false;
    }
  });
  if (python === undefined) return undefined;
  return new Deno.Command(python, {
    args: [join(import.meta.dirname!, "seed_coordinator.py"), url],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}
