/**
 * `deno task bench --only compiled`: the compiled binary's start-up time (`--version`, median of
 * ten) and resident memory (the daemon, idle a few seconds after start, in a fresh state
 * directory, against the gateway port its permission set names: connected or not, nothing
 * happens). `deno compile` needs the Deno runtime for the target: from the network, or from
 * DENORT_BIN; without DENORT_BIN the bench says so and measures nothing.
 * @module
 */
import { join } from "node:path";
import { fmt, percentile } from "./load.ts";

const ROOT = join(import.meta.dirname!, "..");

/** Builds the binary for this machine and measures it; `report` prints one figure. */
export async function compiledBench(report: (name: string, value: string) => void): Promise<void> {
  if (!Deno.env.get("DENORT_BIN")) {
    report(
      "compiled binary",
      "skipped: DENORT_BIN is not set (deno compile cannot fetch its runtime on this machine)",
    );
    return;
  }
  const { binaryName } = await import("../scripts/compile.ts");
  const out = await Deno.makeTempDir({ prefix: "moses-compiled-" });
  const state = await Deno.makeTempDir({ prefix: "moses-compiled-state-" });
  try {
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile", "--target", Deno.build.target, "--out", out],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!built.success) {
      report("compiled binary", `not built: ${new TextDecoder().decode(built.stderr).trim()}`);
      return;
    }
    const bin = join(out, binaryName(Deno.build.target));
    report("compiled binary: size, MB", fmt((await Deno.stat(bin)).size / 1e6, 1));
    const times: number[] = [];
    for (let i = 0; i < 11; i++) {
      const t0 = performance.now();
      await new Deno.Command(bin, { args: ["--version"], stdout: "null" }).output();
      if (i > 0) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    report("compiled binary: start-up, --version, median ms", fmt(percentile(times, 0.5), 1));
    const daemon = new Deno.Command(bin, {
      args: ["run"],
      cwd: state,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const statusFile = join(state, "audits/moses/coordinator/status.json");
      const deadline = Date.now() + 30_000;
      while (!(await exists(statusFile)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 5_000));
      const status = await Deno.readTextFile(`/proc/${daemon.pid}/status`);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
      report("compiled binary: daemon resident memory 5 s after start, MB", fmt(rss / 1024, 1));
    } finally {
      daemon.kill("SIGTERM");
      await daemon.status;
    }
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(state, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
