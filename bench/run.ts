/**
 * `deno task bench`: the coordinator's speed figures, printed as a table.
 *
 *   deno task bench            all benchmarks (builds a 1,000,000-line ledger, ~0.6 GB, in a temp dir)
 *   deno task bench --lines N  use an N-line ledger instead
 *   deno task bench --only sequence|ledger|verify|openclaw
 *   deno task bench --only report  report and log -n 20, whole process, under the declared set,
 *                                  over a --lines ledger of the coordinator's and audit_stub's lines
 *   deno task bench --only load    end to end, legacy protocol (bench/load.ts; --events N
 *                                  --conversations N --seconds S --rate R --violations N)
 *   deno task bench --only tools   tool calls judged per second in process, and the time from
 *                                  a real gateway's session.tool result to the ledger line
 *   deno task bench --only drift   commitment drift: cost per answer vs one ledger append, and
 *                                  memory with 100,000 conversations carrying history
 *   deno task bench --only notify  notices to the operator: cost per finding in process, and
 *                                  the time from a violation to the question on a real gateway
 *   deno task bench --only memory  resident size (bench/memory.ts; --live N --churn N --step N)
 *   deno task bench --only verify-process   verify, whole process against whole process
 *                                  (bench/verify_process.ts; --process-lines N, default 200,000)
 *   deno task bench --only compiled    the compiled binary's start-up and memory (bench/compiled.ts;
 *                                  needs DENORT_BIN here)
 *   deno task bench --only idle    what an idle daemon costs, next to its gateway and the seed's
 *                                  Python coordinator (bench/idle.ts; --window S, default 60;
 *                                  --settle S after start-up, default 60)
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/rules/sequence.ts";
import { RuleEngine } from "../lib/rules/engine.ts";
import { SequenceRule } from "../lib/rules/sequence_rule.ts";
import { FrameIntake } from "../lib/gateway/intake.ts";
import { RoleMap } from "../lib/rules/roles.ts";
import { appendEntries, GENESIS_HASH, sealEntry } from "../lib/ledger/append.ts";
import { verifyLedger } from "../lib/ledger/verify.ts";
import { findingEntry } from "../lib/ledger/entries.ts";
import { type SequenceFinding, sequenceFinding } from "../lib/rules/sequence_rule.ts";
import { DEFAULT_GOVERNANCE } from "../lib/rules/governance.ts";
import { fmt, percentile } from "./load.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    lines: { type: "string", default: "1000000" },
    only: { type: "string" },
    // bench/load.ts and bench/memory.ts (the sizes when left out).
    events: { type: "string" },
    conversations: { type: "string" },
    seconds: { type: "string" },
    rate: { type: "string" },
    violations: { type: "string" },
    live: { type: "string" },
    churn: { type: "string" },
    step: { type: "string" },
    window: { type: "string" },
    settle: { type: "string" },
    "process-lines": { type: "string", default: "200000" },
  },
});
const LINES = Number(values.lines);
const only = values.only;

const rows: [string, string][] = [];
function report(name: string, value: string) {
  rows.push([name, value]);
  console.log(`${name.padEnd(58)} ${value}`);
}
function violation(i: number): SequenceFinding {
  return sequenceFinding({
    id: crypto.randomUUID(),
    protocol: "legacy",
    conversation: `conversation-${i % 10_000}`,
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: DEFAULT_SEQUENCE,
  }, Date.now());
}

console.log(
  `moses-coordinator benchmarks on ${Deno.build.target}, deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} cores\n`,
);

if (!only || only === "sequence") {
  const N = 5_000_000;
  const roles = ["primary", "secondary", "observer"];
  const convs = Array.from({ length: 10_000 }, (_, i) => `conversation-${i}`);
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, {
    ttlMs: 3_600_000,
    maxConversations: 100_000,
  });
  // Warm up, then measure: round-robin over conversations, one answer in ten out of turn.
  let violations = 0;
  const runOnce = (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const c = convs[i % convs.length]!;
      const step = Math.floor(i / convs.length);
      const role = i % 10 === 9 ? "observer" : roles[step % 3]!;
      if (engine.observe(c, role, 1_000_000 + i) !== undefined) violations++;
    }
    return performance.now() - t0;
  };
  runOnce(500_000);
  const ms = runOnce(N);
  report("sequence engine: observations/s (one core)", fmt(N / (ms / 1000)));

  let found = 0;
  const rules = new RuleEngine([
    new SequenceRule(
      new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 3_600_000, maxConversations: 100_000 }),
      new RoleMap({}, DEFAULT_SEQUENCE),
    ),
  ], { governance: () => DEFAULT_GOVERNANCE, onFinding: () => found++ });
  const intake = new FrameIntake({ onEvent: (e) => rules.handle(e) });
  const frames = convs.flatMap((c) =>
    roles.map((r) => JSON.stringify({ type: "session_update", session_id: c, agent: r }))
  );
  const M = 2_000_000;
  const t0 = performance.now();
  for (let i = 0; i < M; i++) intake.handleText(frames[i % frames.length]!, i);
  const pms = performance.now() - t0;
  report(
    `pipeline (JSON.parse + decode + rule engine): frames/s (${found} findings)`,
    fmt(M / (pms / 1000)),
  );
}

async function timeAppends(path: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const body = findingEntry(violation(i), DEFAULT_GOVERNANCE.fields);
    const t0 = performance.now();
    await appendEntries(path, [body]);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

/** audit_stub's own entries: the same keys, no violation object. */
function stubBody(i: number): Record<string, unknown> {
  return {
    timestamp: "2026-11-21T12:02:18.246730+00:00",
    agent: "primary",
    component: "moses-governance",
    action: "session-start",
    detail: `Governed step ${i}`,
    outcome: "anchored",
    mode: "high-integrity",
    posture: "defense",
    role: "primary",
    session_hash: null,
  };
}

async function buildLedger(
  path: string,
  lines: number,
  shape: "coordinator" | "audit_stub" | "mixed" = "coordinator",
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  const enc = new TextEncoder();
  let prev = GENESIS_HASH;
  let chunk = "";
  for (let i = 0; i < lines; i++) {
    // mixed: every third line audit_stub's, one in 50 of those a FAIL.
    const body = shape === "coordinator" || (shape === "mixed" && i % 3 !== 0)
      ? findingEntry(violation(i), DEFAULT_GOVERNANCE.fields)
      : { ...stubBody(i), ...(i % 150 === 0 ? { outcome: "FAIL" } : {}) };
    const sealed = sealEntry(body, prev);
    prev = sealed.hash;
    chunk += sealed.line;
    if (chunk.length > 4_000_000) {
      await file.write(enc.encode(chunk));
      chunk = "";
    }
  }
  await file.write(enc.encode(chunk));
  file.close();
}

if (!only || only === "openclaw") await openclawBench();
if (!only || only === "tools") {
  const { toolsBench } = await import("./tools.ts");
  await toolsBench(report);
}
if (!only || only === "notify") {
  const { notifyBench } = await import("./notify.ts");
  await notifyBench(report);
}
if (!only || only === "drift") {
  const { driftBench } = await import("./drift.ts");
  await driftBench(report);
}
if (!only || only === "load") {
  const { loadBench, loadOptions } = await import("./load.ts");
  await loadBench(loadOptions(values), report);
}
if (!only || only === "verify" || only === "verify-process") {
  const { verifyProcessBench } = await import("./verify_process.ts");
  await verifyProcessBench({ lines: Number(values["process-lines"]), build: buildLedger, report });
}
if (!only || only === "compiled") {
  const { compiledBench } = await import("./compiled.ts");
  await compiledBench(report);
}
if (!only || only === "idle") {
  const { idleBench, idleOptions } = await import("./idle.ts");
  await idleBench(idleOptions(values), report);
}
if (!only || only === "memory") {
  const { memoryBench, memoryOptions } = await import("./memory.ts");
  await memoryBench(memoryOptions(values), report);
}

const dir = await Deno.makeTempDir({ prefix: "moses-bench-" });
try {
  if (!only || only === "ledger") {
    const path = join(dir, "durable.jsonl");
    const t0 = performance.now();
    const n = 2000;
    await timeAppends(path, n);
    report(
      "ledger: durable appends/s, one line and one fsync each",
      fmt(n / ((performance.now() - t0) / 1000)),
    );

    const groups = 50;
    const size = 1000;
    const t1 = performance.now();
    for (let g = 0; g < groups; g++) {
      await appendEntries(
        path,
        Array.from(
          { length: size },
          (_, i) => findingEntry(violation(i), DEFAULT_GOVERNANCE.fields),
        ),
      );
    }
    report(
      `ledger: lines/s in groups of ${size} (one fsync per group)`,
      fmt((groups * size) / ((performance.now() - t1) / 1000)),
    );

    const empty = join(dir, "empty.jsonl");
    const big = join(dir, "big.jsonl");
    await buildLedger(big, LINES);
    const size1 = (await Deno.stat(big)).size;
    // Interleave the two so that disk and cache noise fall on both alike.
    const a: number[] = [];
    const b: number[] = [];
    for (let round = 0; round < 10; round++) {
      a.push(...await timeAppends(empty, 30));
      b.push(...await timeAppends(big, 30));
      if (round === 0) {
        a.length = 0;
        b.length = 0;
      }
    }
    a.sort((x, y) => x - y);
    b.sort((x, y) => x - y);
    report(
      "ledger: one append, empty ledger: median / p99 ms",
      `${fmt(percentile(a, 0.5), 3)} / ${fmt(percentile(a, 0.99), 3)}`,
    );
    report(
      `ledger: one append, ${fmt(LINES)}-line ledger (${fmt(size1 / 1e6)} MB): median / p99 ms`,
      `${fmt(percentile(b, 0.5), 3)} / ${fmt(percentile(b, 0.99), 3)}`,
    );
    report(
      "ledger: median append time, large vs empty",
      `${fmt((percentile(b, 0.5) / percentile(a, 0.5) - 1) * 100, 1)} %`,
    );
  }

  if (!only || only === "verify") {
    const py = join(import.meta.dirname!, "..", "tests", "support", "moses_ledger.py");
    for (const shape of ["coordinator", "audit_stub"] as const) {
      const path = join(dir, shape === "coordinator" ? "big.jsonl" : "stub.jsonl");
      try {
        await Deno.stat(path);
      } catch {
        await buildLedger(path, LINES, shape);
      }
      const t0 = performance.now();
      const r = await verifyLedger(path);
      const ms = performance.now() - t0;
      if (!r.ok) throw new Error("The benchmark ledger did not verify");
      const t1 = performance.now();
      const single = await verifyLedger(path, { workers: 1 });
      const sms = performance.now() - t1;
      if (!single.ok) throw new Error("The benchmark ledger did not verify");
      const mb = fmt((await Deno.stat(path)).size / 1e6);
      report(
        `verify, ${fmt(r.entries)} ${shape} lines (${mb} MB): lines/s, all cores`,
        fmt(r.entries / (ms / 1000)),
      );
      report(`verify, same file: lines/s, one core`, fmt(r.entries / (sms / 1000)));
      const t2 = performance.now();
      const out = await new Deno.Command("python3", { args: [py, "verify", path], stdout: "piped" })
        .output();
      const pms = performance.now() - t2;
      const text = new TextDecoder().decode(out.stdout).trim();
      if (text === `OK ${r.entries}`) {
        report(
          "verify, same file: Python reference verifier, lines/s",
          fmt(r.entries / (pms / 1000)),
        );
        report(
          "verify, same file: speed-up over Python (all cores / one core)",
          `${fmt(pms / ms, 1)}x / ${fmt(pms / sms, 1)}x`,
        );
      } else {
        report(
          "verify, same file: Python reference verifier",
          `did not run (${text || "no output"})`,
        );
      }
      await Deno.remove(path);
    }
  }
  if (!only || only === "report") await reportBench(dir);
} finally {
  await Deno.remove(dir, { recursive: true });
}

/** `report` and `log -n 20` as a user runs them: a whole process under the declared set. */
async function reportBench(dir: string): Promise<void> {
  const { declaredSet, permissionFlags } = await import("../lib/service/permissions.ts");
  const { v8FlagsArg } = await import("../lib/service/v8_flags.ts");
  const main = join(import.meta.dirname!, "..", "main.ts");
  const state = join(dir, "state");
  await Deno.mkdir(join(state, "audits", "moses"), { recursive: true });
  const path = join(state, "audits", "moses", "audit_ledger.jsonl");
  await buildLedger(path, LINES, "mixed");
  const mb = fmt((await Deno.stat(path)).size / 1e6);
  const run = async (args: string[]): Promise<{ ms: number; stdout: string }> => {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", v8FlagsArg(), ...permissionFlags(declaredSet()), main, ...args],
      cwd: state,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const ms = performance.now() - t0;
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return { ms, stdout: new TextDecoder().decode(out.stdout) };
  };
  await run(["--version"]); // module cache warm
  const best = async (args: string[], times: number) => {
    let min = Infinity;
    let last = "";
    for (let i = 0; i < times; i++) {
      const r = await run(args);
      min = Math.min(min, r.ms);
      last = r.stdout;
    }
    return { ms: min, stdout: last };
  };
  const start = await best(["--version"], 5);
  report("process start (--version), best of 5", `${fmt(start.ms)} ms`);
  const rep = await best(["report", "--json"], 3);
  const parsed = JSON.parse(rep.stdout);
  if (parsed.entries !== LINES || !parsed.chain.ok) throw new Error("The report is wrong");
  report(
    `report, ${fmt(LINES)} mixed lines (${mb} MB), whole process, best of 3`,
    `${fmt(rep.ms)} ms`,
  );
  report("report, same file: lines/s", fmt(LINES / (rep.ms / 1000)));
  const tail = await best(["log", "-n", "20"], 5);
  if (tail.stdout.trimEnd().split("\n").length !== 20) throw new Error("log -n 20 is wrong");
  report("log -n 20, same file, whole process, best of 5", `${fmt(tail.ms)} ms`);
}

// Against a real OpenClaw gateway (installed by tests/support/setup.ts).
async function openclawBench(): Promise<void> {
  const { OpenClawGateway } = await import("../tests/support/openclaw_gateway.ts");
  const { Daemon, sandboxFlags } = await import("../tests/support/helpers.ts");
  const { FrameSocket } = await import("../lib/gateway/socket.ts");
  const { OpenClawConnection } = await import("../lib/gateway/openclaw/connection.ts");
  const { generateIdentity } = await import("../lib/gateway/openclaw/device_identity.ts");
  const t0 = performance.now();
  const gw = await OpenClawGateway.start();
  report("openclaw: gateway start to ready (not ours), ms", fmt(performance.now() - t0));
  try {
    const identity = await generateIdentity();
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const c0 = performance.now();
      const socket = await FrameSocket.open(gw.url, 10_000);
      const conn = await OpenClawConnection.connect(socket, {
        identity,
        token: gw.token,
        useDeviceToken: false,
        scopes: ["operator.read"],
        version: "bench",
        platform: "linux",
        timeoutMs: 10_000,
      });
      await conn.request("sessions.subscribe", {});
      times.push(performance.now() - c0);
      conn.close();
      await socket.closed;
    }
    times.sort((a, b) => a - b);
    report(
      "openclaw: connect + handshake + subscribe, p50 / p95 ms (30 runs)",
      `${fmt(percentile(times, 0.5), 1)} / ${fmt(percentile(times, 0.95), 1)}`,
    );

    const stateDir = `${gw.home}/.openclaw`;
    const starts: number[] = [];
    let daemon: InstanceType<typeof Daemon> | undefined;
    for (let i = 0; i < 3; i++) {
      const s0 = performance.now();
      daemon = new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
      while (!daemon.stderr.includes("connected")) await new Promise((r) => setTimeout(r, 5));
      starts.push(performance.now() - s0);
      if (i < 2) await daemon.stop();
    }
    starts.sort((a, b) => a - b);
    report(
      "openclaw: coordinator process start to connected, median ms (3 runs)",
      fmt(starts[1]!, 0),
    );

    // Throughput: every injected turn is an observer answering first, so each is a violation
    // and a ledger line; the clock stops when the last line is durable.
    const driver = await gw.driver();
    const n = 600;
    const convs = Array.from({ length: 200 }, (_, i) => `bench-${i}`);
    for (const c of convs) await driver.session("observer", c);
    const ledger = `${stateDir}/audits/moses/audit_ledger.jsonl`;
    const countLines = async () => {
      try {
        return (await Deno.readTextFile(ledger)).split("\n").length - 1;
      } catch {
        return 0;
      }
    };
    const before = await countLines();
    const i0 = performance.now();
    let next = 0;
    const inFlight = 8;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const k = next++;
        await driver.conn.request("chat.inject", {
          sessionKey: `agent:observer:${convs[k % convs.length]}`,
          message: `turn ${k}`,
        });
      }
    }));
    const injectMs = performance.now() - i0;
    while ((await countLines()) - before < n) await new Promise((r) => setTimeout(r, 20));
    const allMs = performance.now() - i0;
    report(
      `openclaw: chat.inject rate, ${inFlight} in flight (the gateway's limit), turns/s`,
      fmt(n / (injectMs / 1000)),
    );
    report(
      "openclaw: turns the coordinator turned into durable ledger lines, per s",
      fmt(n / (allMs / 1000)),
    );
    report(
      "openclaw: last ledger line after the last inject was answered, ms",
      fmt(allMs - injectMs),
    );
    driver.close();
    await daemon?.stop();
  } finally {
    await gw.stop();
  }
}
