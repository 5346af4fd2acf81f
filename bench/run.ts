/**
 * `deno task bench`: the coordinator's speed figures, printed as a table.
 *
 *   deno task bench            all benchmarks (builds a 1,000,000-line ledger, ~0.6 GB, in a temp dir)
 *   deno task bench --lines N  use an N-line ledger instead
 *   deno task bench --only sequence|ledger|verify
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/sequence.ts";
import { Pipeline } from "../lib/pipeline.ts";
import { RoleMap } from "../lib/roles.ts";
import { decodeLegacyFrame } from "../lib/legacy.ts";
import { appendEntries, GENESIS_HASH, sealEntry } from "../lib/ledger.ts";
import { verifyLedger } from "../lib/verify.ts";
import { type Violation, violationEntry } from "../lib/violation.ts";
import { DEFAULT_GOVERNANCE } from "../lib/governance.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { lines: { type: "string", default: "1000000" }, only: { type: "string" } },
});
const LINES = Number(values.lines);
const only = values.only;

const rows: [string, string][] = [];
function report(name: string, value: string) {
  rows.push([name, value]);
  console.log(`${name.padEnd(58)} ${value}`);
}
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function violation(i: number): Violation {
  return {
    id: crypto.randomUUID(),
    at: Date.now(),
    protocol: "legacy",
    conversation: `conversation-${i % 10_000}`,
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: DEFAULT_SEQUENCE,
  };
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

  const pipeline = new Pipeline(
    new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 3_600_000, maxConversations: 100_000 }),
    new RoleMap({}, DEFAULT_SEQUENCE),
  );
  const frames = convs.flatMap((c) =>
    roles.map((r) => JSON.stringify({ type: "session_update", session_id: c, agent: r }))
  );
  const M = 2_000_000;
  const t0 = performance.now();
  for (let i = 0; i < M; i++) pipeline.handleText(frames[i % frames.length]!, i, decodeLegacyFrame);
  const pms = performance.now() - t0;
  report("pipeline (JSON.parse + decode + rule): frames/s", fmt(M / (pms / 1000)));
}

async function timeAppends(path: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const body = violationEntry(violation(i), DEFAULT_GOVERNANCE.fields);
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
  shape: "coordinator" | "audit_stub" = "coordinator",
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  const enc = new TextEncoder();
  let prev = GENESIS_HASH;
  let chunk = "";
  for (let i = 0; i < lines; i++) {
    const body = shape === "coordinator"
      ? violationEntry(violation(i), DEFAULT_GOVERNANCE.fields)
      : stubBody(i);
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
          (_, i) => violationEntry(violation(i), DEFAULT_GOVERNANCE.fields),
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
} finally {
  await Deno.remove(dir, { recursive: true });
}
