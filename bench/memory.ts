/**
 * Memory benchmark: the coordinator's resident size with `--live` conversations tracked at
 * once (default 100,000), and while `--churn` more (default 1,000,000) come and go.
 *
 *   deno run -A bench/memory.ts [--live N] [--churn N] [--step N] [--no-gc-trace]
 *                               [--v8-flags FLAGS]
 *   deno task bench --only memory [same flags]
 *
 * The coordinator runs as users run it (its own process, the declared permission set, a
 * temporary state directory), fed by the load gateway of bench/load.ts. Each conversation
 * gets one in-order frame (`primary`), so none is a violation and the figures are the
 * conversation state's. The config sets `maxConversations` to `--live` and a TTL of a day:
 * nothing expires during the run, and the conversations go by the LRU cap, the least
 * recently active first, as on a busy gateway. The resident size (`VmRSS` in
 * /proc/PID/status) is read after each `--step` conversations, once the coordinator's
 * status file says it has processed them and a short settle has passed, and once more after
 * 15 s without frames.
 *
 * `bench/memory.ts --engine-heap N` (run with `--v8-flags=--expose-gc`) prints the V8 heap and
 * the array buffers a bare SequenceEngine uses for N conversations, for comparison.
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/rules/sequence.ts";
import { v8FlagsArg } from "../lib/service/v8_flags.ts";
import {
  CoordinatorProcess,
  type FlagValues,
  fmt,
  GatewayProcess,
  intFlag,
  loadAverage,
  makeStateDir,
  type Report,
  sleep,
  waitFor,
} from "./load.ts";

/** Sizes of the memory benchmark. */
export interface MemoryOptions {
  /** Conversations tracked at once, and the coordinator's `maxConversations` (100,000). */
  live: number;
  /** Conversations that come and go after that (1,000,000). */
  churn: number;
  /** RSS is sampled after every `step` churned conversations (100,000). */
  step: number;
  /** Also run once with V8's `--trace-gc`, to show what each full GC leaves alive (true). */
  gcTrace: boolean;
  /** More V8 flags for the coordinator (comma-separated), after its own (lib/service/v8_flags.ts). */
  v8Flags: string;
}

/** The sizes. */
export const MEMORY_DEFAULTS: MemoryOptions = {
  live: 100_000,
  churn: 1_000_000,
  step: 100_000,
  gcTrace: true,
  v8Flags: "",
};

// After the status file shows the frames processed: one more status write, one snapshot
// (every 5 s) and the garbage they leave have usually come and gone.
const SETTLE_MS = 3_000;
// Quiet time before the last sample.
const QUIET_MS = 15_000;

const note = (msg: string) => console.error(`  [memory] ${msg}`);

/** Resident size of a process in MB (10^6 bytes), from /proc. */
export interface Resident {
  rss: number;
  /** Peak resident size. */
  hwm: number;
  /** Anonymous memory (heaps, buffers): what the coordinator's work costs. */
  anon: number;
  /** Pages of mapped files (mostly the executable's own): shared, and dropped under pressure. */
  file: number;
}

/** Resident and peak resident size of a process, in MB, from /proc. */
export async function residentMb(pid: number): Promise<Resident> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const mb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1]) * 1024 / 1e6;
  return { rss: mb("VmRSS"), hwm: mb("VmHWM"), anon: mb("RssAnon"), file: mb("RssFile") };
}

// "136.6 (anon 80.2, file 56.4)"
function split(r: { rss: number; anon: number; file: number }): string {
  return `${fmt(r.rss, 1)} (anon ${fmt(r.anon, 1)}, file ${fmt(r.file, 1)})`;
}

/** Runs the memory benchmark and reports its figures. */
export async function memoryBench(opts: MemoryOptions, report: Report): Promise<void> {
  if (Deno.build.os !== "linux") {
    report("memory", "skipped: reads /proc (Linux only)");
    return;
  }
  const v8 = opts.v8Flags ? opts.v8Flags.split(",") : [];
  const tag = opts.v8Flags ? `memory (${opts.v8Flags})` : "memory";
  report(`${tag}: the coordinator's V8 flags`, v8FlagsArg(v8));
  // As users run it; then once more with V8 telling what each full GC left alive, which
  // tells a growing heap (a leak) from garbage V8 has not collected yet.
  await churnRun(opts, tag, v8, false, report);
  if (opts.gcTrace) {
    await churnRun(
      opts,
      `${tag}, --trace-gc`,
      ["--trace-gc", ...v8],
      true,
      report,
    );
  }

  // The bare engine in a process of its own, with a forced GC around the measurement.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      "--engine-heap",
      String(opts.live),
    ],
    stdout: "piped",
  }).output();
  const heap = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    bytes: number;
    external: number;
  };
  report(
    `memory: a bare SequenceEngine with ${fmt(opts.live)} conversations: V8 heap / buffers, MB`,
    `${fmt(heap.bytes / 1e6, 1)} / ${fmt(heap.external / 1e6, 1)} (${
      fmt((heap.bytes + heap.external) / opts.live)
    } bytes each)`,
  );
}

// The live heap, or why there is no figure yet.
function liveText(mb: number): string {
  return Number.isNaN(mb) ? "n/a: no full GC yet" : `${fmt(mb, 1)} MB`;
}

/** What V8 said about its last full GC (`--trace-gc`), in MB. */
interface GcState {
  /** Heap in use after the last mark-compact: what is really alive. */
  liveAfterFull: number;
  /** Full GCs so far. */
  fullGcs: number;
  /** The most V8 had committed for the heap before a GC. */
  maxCommitted: number;
}

// One coordinator, `live` conversations, then `churn` more in steps; RSS after each step.
async function churnRun(
  opts: MemoryOptions,
  tag: string,
  v8Flags: string[],
  traceGc: boolean,
  report: Report,
): Promise<void> {
  const steps = Math.ceil(opts.churn / opts.step);
  const segments = [
    opts.live,
    ...Array.from({ length: steps }, (_, i) => Math.min(opts.step, opts.churn - i * opts.step)),
  ];
  report(`${tag}: loadavg (1/5/15 min) before`, loadAverage());
  const dir = await makeStateDir({
    maxConversations: opts.live,
    conversationTtlSeconds: 86_400,
  });
  const gw = await GatewayProcess.start({ kind: "fresh", segments, prefix: "conversation-" });
  const gc: GcState = { liveAfterFull: NaN, fullGcs: 0, maxCommitted: 0 };
  let partial = "";
  // "Mark-Compact 172.3 (212.2) -> 35.3 (103.5) MB": used (committed) before -> after.
  const onStdout = (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const m =
        /(Mark-Compact|Scavenge|Minor Mark-Sweep)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/
          .exec(line);
      if (!m) continue;
      gc.maxCommitted = Math.max(gc.maxCommitted, Number(m[3]));
      if (m[1] === "Mark-Compact") {
        gc.fullGcs++;
        gc.liveAfterFull = Number(m[4]);
      }
    }
  };
  let coordinator: CoordinatorProcess | undefined;
  try {
    coordinator = new CoordinatorProcess(dir, gw.port, {
      v8Flags,
      ...(traceGc ? { onStdout } : {}),
    });
    const c = coordinator;
    await gw.next("subscribed", 30_000);
    await sleep(SETTLE_MS);
    const idle = await residentMb(c.pid);
    report(`${tag}: RSS connected, no conversations, MB`, split(idle));

    let frames = 0;
    const samples: (Resident & { churned: number; tracked: number; live: number })[] = [];
    for (let i = 0; i < segments.length; i++) {
      await gw.send(i);
      frames += segments[i]!;
      await waitFor(
        `the coordinator to process ${frames} frames`,
        async () => {
          const s = await c.status();
          return s !== undefined && s.counters.frames >= frames;
        },
        600_000,
        100,
      );
      await sleep(SETTLE_MS);
      const s = await c.status();
      const resident = await residentMb(c.pid);
      const rss = resident.rss;
      const churned = frames - opts.live;
      const tracked = s?.conversations.tracked ?? NaN;
      samples.push({ ...resident, churned, tracked, live: gc.liveAfterFull });
      note(
        `${tag}: ${fmt(frames)} conversations seen, ${fmt(tracked)} tracked: RSS ${
          fmt(rss, 1)
        } MB` +
          (traceGc ? `, live heap after the last full GC ${liveText(gc.liveAfterFull)}` : ""),
      );
    }
    // V8 gives back its young generation once allocation has been slow for a while (its
    // memory reducer): what the coordinator holds when the flood is over.
    await sleep(QUIET_MS);
    const quiet = await residentMb(c.pid);
    const peak = await residentMb(c.pid);
    const heap = (x: { live: number }) => traceGc ? ` (live heap ${liveText(x.live)})` : "";
    const live = samples[0]!;
    report(
      `${tag}: RSS with ${fmt(opts.live)} live conversations (tracked ${fmt(live.tracked)}), MB`,
      split(live) + heap(live),
    );
    const churnSamples = samples.slice(1);
    for (const smp of churnSamples) {
      report(
        `${tag}: RSS after ${fmt(smp.churned)} more came and went (tracked ${
          fmt(smp.tracked)
        }), MB`,
        split(smp) + heap(smp),
      );
    }
    if (churnSamples.length > 0) {
      const rss = churnSamples.map((x) => x.rss);
      const last = churnSamples[churnSamples.length - 1]!;
      report(
        `${tag}: RSS during churn, min / max MB`,
        `${fmt(Math.min(...rss), 1)} / ${fmt(Math.max(...rss), 1)}`,
      );
      report(
        `${tag}: RSS change, ${fmt(opts.live)} live -> after ${fmt(last.churned)} churned, MB`,
        `${last.rss >= live.rss ? "+" : ""}${fmt(last.rss - live.rss, 1)}`,
      );
    }
    report(
      `${tag}: RSS ${QUIET_MS / 1000} s after the last frame (${fmt(opts.live)} live), MB`,
      split(quiet),
    );
    report(`${tag}: peak RSS (VmHWM) over the whole run, MB`, fmt(peak.hwm, 1));
    if (traceGc) {
      report(
        `${tag}: full GCs / most heap V8 committed before a GC, MB`,
        `${gc.fullGcs} / ${fmt(gc.maxCommitted, 1)}`,
      );
    }

    const code = await c.stop();
    coordinator = undefined;
    const s = await c.status();
    report(
      `${tag}: status at the end: tracked / evicted over cap / evicted idle`,
      `${fmt(s?.conversations.tracked ?? NaN)} / ${fmt(s?.conversations.evictedOverCap ?? NaN)} / ${
        fmt(s?.conversations.evictedIdle ?? NaN)
      }`,
    );
    if (code !== 0) throw new Error(`The coordinator exited ${code}`);
    report(`${tag}: loadavg (1/5/15 min) after`, loadAverage());
  } finally {
    await coordinator?.stop();
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

// The memory a SequenceEngine holds for `n` conversations with the benchmark's ids: on the V8
// heap, and in array buffers (its tables and id arena) outside it.
async function engineHeap(n: number): Promise<{ bytes: number; external: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
  const width = String(n * 11).length;
  const ids = Array.from({ length: n }, (_, i) => `conversation-${String(i).padStart(width, "0")}`);
  gc();
  const before = Deno.memoryUsage();
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 86_400_000, maxConversations: n });
  for (let i = 0; i < n; i++) engine.observe(ids[i]!, "primary", 1);
  // Array buffers are freed by a sweeper after the GC: give it a moment, then collect again.
  gc();
  await sleep(200);
  gc();
  const after = Deno.memoryUsage();
  // Checked after the measurement, so that neither is garbage during it.
  if (engine.stats().tracked !== n || ids.length !== n) {
    throw new Error("The engine lost conversations");
  }
  return { bytes: after.heapUsed - before.heapUsed, external: after.external - before.external };
}

/** Parses the memory benchmark's flags (the sizes by default). */
export function memoryOptions(values: FlagValues): MemoryOptions {
  const num = (name: "live" | "churn" | "step"): number =>
    intFlag(values, name, MEMORY_DEFAULTS[name]);
  return {
    live: num("live"),
    churn: num("churn"),
    step: num("step"),
    gcTrace: values["no-gc-trace"] !== true,
    v8Flags: typeof values["v8-flags"] === "string" ? values["v8-flags"] : "",
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "engine-heap": { type: "string" },
      live: { type: "string" },
      churn: { type: "string" },
      step: { type: "string" },
      "no-gc-trace": { type: "boolean" },
      "v8-flags": { type: "string" },
    },
  });
  if (values["engine-heap"] !== undefined) {
    console.log(JSON.stringify(await engineHeap(Number(values["engine-heap"]))));
  } else {
    const report: Report = (name, value) => console.log(`${name.padEnd(72)} ${value}`);
    await memoryBench(memoryOptions(values), report);
  }
}
