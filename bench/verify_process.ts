/**
 * `verify` whole process against whole process: `moses-coordinator verify` (as `deno run
 * main.ts`, with every permission and under the coordinator's own set) against the Python
 * reference verifier (tests/support/moses_ledger.py, which verifies as `audit_stub.py verify`
 * does), on the same ledger, alternated, the median of five runs each after a warm-up. Start-up,
 * module loading, workers, reading and hashing are all in the time.
 * @module
 */
import { join } from "node:path";
import { fmt, percentile } from "./load.ts";
import { MEASURES_CPU, timed } from "./_timed.ts";

const ROOT = join(import.meta.dirname!, "..");
const MAIN = join(ROOT, "main.ts");
const PY = join(ROOT, "tests", "support", "moses_ledger.py");

/** What the whole-process verify bench needs. */
export interface VerifyProcessOptions {
  /** Lines in the ledger. */
  lines: number;
  /** Writes an intact ledger of `lines` lines of `shape` at `path`. */
  build: (path: string, lines: number, shape: "coordinator" | "audit_stub") => Promise<void>;
  /** Prints one figure. */
  report: (name: string, value: string) => void;
}

/** Runs the bench in a temporary state directory. */
export async function verifyProcessBench(opts: VerifyProcessOptions): Promise<void> {
  const { sandboxFlags } = await import("../tests/support/helpers.ts");
  const dir = await Deno.makeTempDir({ prefix: "moses-verify-process-" });
  try {
    const rel = "audits/moses/audit_ledger.jsonl";
    await Deno.mkdir(join(dir, "audits", "moses"), { recursive: true });
    for (const shape of ["audit_stub", "coordinator"] as const) {
      await opts.build(join(dir, rel), opts.lines, shape);
      const mb = fmt((await Deno.stat(join(dir, rel))).size / 1e6);
      const runs = {
        python: () => timed("python3", [PY, "verify", rel], { cwd: dir }),
        all: () =>
          timed(Deno.execPath(), ["run", "-A", "--no-prompt", MAIN, "verify"], { cwd: dir }),
        sandbox: () =>
          timed(Deno.execPath(), ["run", ...sandboxFlags(), MAIN, "verify"], { cwd: dir }),
      };
      const times: Record<keyof typeof runs, number[]> = { python: [], all: [], sandbox: [] };
      const cpu: Record<keyof typeof runs, number[]> = { python: [], all: [], sandbox: [] };
      for (let round = 0; round < 6; round++) {
        for (const [name, run] of Object.entries(runs)) {
          const [ms, cpuMs] = await run();
          // The first round warms the caches (the module cache, the file's pages).
          if (round === 0) continue;
          times[name as keyof typeof runs].push(ms);
          cpu[name as keyof typeof runs].push(cpuMs);
        }
      }
      const med = (xs: number[]) => percentile(xs.sort((a, b) => a - b), 0.5);
      const py = med(times.python);
      const all = med(times.all);
      const sandbox = med(times.sandbox);
      const what = `verify, whole process, ${fmt(opts.lines)} ${shape} lines (${mb} MB)`;
      opts.report(`${what}: Python reference, median ms`, fmt(py));
      opts.report(
        `${what}: coordinator -A / own permission set, median ms`,
        `${fmt(all)} / ${fmt(sandbox)}`,
      );
      opts.report(
        `${what}: speed-up over Python (-A / own set)`,
        `${fmt(py / all, 2)}x / ${fmt(py / sandbox, 2)}x`,
      );
      if (MEASURES_CPU) {
        const [cp, ca, cs] = [med(cpu.python), med(cpu.all), med(cpu.sandbox)];
        opts.report(
          `${what}: CPU ms, Python / coordinator -A / own set`,
          `${fmt(cp)} / ${fmt(ca)} / ${fmt(cs)}`,
        );
        opts.report(
          `${what}: CPU time, Python over coordinator (-A / own set)`,
          `${fmt(cp / ca, 2)}x / ${fmt(cp / cs, 2)}x`,
        );
      }
      opts.report(`${what}: load average before`, Deno.loadavg().map((l) => fmt(l, 2)).join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
