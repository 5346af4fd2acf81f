/**
 * Start-up of the command line: `main.ts verify` on an empty ledger, `status` where no daemon
 * has run (the health check's start-up and lock check; it exits 66), `main.ts --help` and
 * `--version`, as whole processes under the coordinator's own permission set, in a temporary
 * state directory; each checkout given (default: this one) alternated with the others,
 * median of 15 runs after a warm-up; and a bare `deno run` of an empty script for the floor.
 * Also what each checkout's main.ts loads before a command runs, and with `verify`, from
 * Deno's module graph. Usage: `deno run -A bench/startup.ts [CHECKOUT...]`, e.g. a
 * `git archive` of the commit before against this one.
 * @module
 */
import { join, resolve } from "node:path";
import { sandboxFlags } from "../tests/support/helpers.ts";
import { loadedWith, moduleGraph } from "../tests/support/module_graph.ts";
import { timed } from "./_timed.ts";

const RUNS = 15;
const HERE = join(import.meta.dirname!, "..");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The files (count, KB) and the node: and npm: modules `roots` load, by static imports. */
async function loaded(checkout: string, roots: string[]): Promise<string> {
  const graph = await moduleGraph("main.ts", checkout);
  const seen = loadedWith(graph, roots);
  // The checkout's files are named by their paths; other modules keep their specifiers.
  const files = seen.filter((m) => !/^[a-z]+:/.test(m));
  const kb = files.reduce((n, m) => n + (graph.sizes.get(m) ?? 0), 0) / 1024;
  const other = seen.filter((m) => /^[a-z]+:/.test(m));
  return `${files.length} files (${kb.toFixed(0)} KB) + ${other.join(", ") || "nothing else"}`;
}

const checkouts = (Deno.args.length > 0 ? Deno.args : [HERE]).map((c) => resolve(c));
const state = await Deno.makeTempDir({ prefix: "moses-startup-" });
try {
  await Deno.mkdir(join(state, "audits", "moses"), { recursive: true });
  await Deno.writeTextFile(join(state, "audits", "moses", "audit_ledger.jsonl"), "");
  const empty = join(state, "empty.ts");
  await Deno.writeTextFile(empty, "");
  const flags = sandboxFlags();
  const cases: [string, string[], number[]][] = [["empty script", [...flags, empty], [0]]];
  for (const c of checkouts) {
    for (const cmd of ["verify", "status", "--help", "--version"]) {
      // status: no status file, no daemon: exit 66, after its checks.
      const ok = cmd === "status" ? [66] : [0];
      cases.push([`${c} ${cmd}`, [...flags, join(c, "main.ts"), cmd], ok]);
    }
  }
  const wall = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const load = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  for (let i = 0; i <= RUNS; i++) {
    for (const [name, args, ok] of cases) {
      const [ms, cpuMs] = await timed(Deno.execPath(), args, { cwd: state, okCodes: ok });
      if (i === 0) continue; // the warm-up: Deno's caches
      wall.set(name, [...(wall.get(name) ?? []), ms]);
      cpu.set(name, [...(cpu.get(name) ?? []), cpuMs]);
    }
  }
  console.log(
    `load before: ${load.trim()}; after: ${
      (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).trim()
    }`,
  );
  for (const [name] of cases) {
    const w = wall.get(name)!;
    console.log(
      `${name}: median ${median(w).toFixed(0)} ms (min ${Math.min(...w).toFixed(0)}), ` +
        `CPU ${median(cpu.get(name)!).toFixed(0)} ms`,
    );
  }
  for (const c of checkouts) {
    console.log(`${c} before a command: ${await loaded(c, ["main.ts"])}`);
    const verify = await Deno.stat(join(c, "lib", "cli", "verify_command.ts")).then(
      () => true,
      () => false,
    );
    if (verify) {
      console.log(
        `${c} verify: ${await loaded(c, ["main.ts", "lib/cli/verify_command.ts"])}`,
      );
    }
  }
} finally {
  await Deno.remove(state, { recursive: true });
}
