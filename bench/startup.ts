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

const RUNS = 15;
const HERE = join(import.meta.dirname!, "..");

// GNU time, where there is one, gives the CPU time too: on a busy machine it moves less
// than the wall time.
const GNU_TIME = (() => {
  try {
    return Deno.statSync("/usr/bin/time").isFile ? "/usr/bin/time" : undefined;
  } catch {
    return undefined;
  }
})();

/** Wall and CPU (user + system) time of one run, in ms; CPU is NaN without GNU time. */
async function timed(args: string[], cwd: string, okCodes: number[]): Promise<[number, number]> {
  const deno = Deno.execPath();
  const [c, a] = GNU_TIME ? [GNU_TIME, ["-f", "cpu %U %S", deno, ...args]] : [deno, args];
  const t0 = performance.now();
  const out = await new Deno.Command(c, { args: a, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const ms = performance.now() - t0;
  const err = new TextDecoder().decode(out.stderr);
  if (!okCodes.includes(out.code)) throw new Error(`deno ${args.join(" ")} failed: ${err}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
  return [ms, m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

/** The files (count, KB) and the node: and npm: modules `roots` load, by static imports. */
async function loaded(checkout: string, roots: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: checkout,
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; size?: number; dependencies?: Dependency[] }[];
  };
  const byName = new Map(info.modules.map((m) => [m.specifier, m]));
  const base = `file://${checkout}/`;
  const seen = new Set<string>();
  const stack = roots.map((r) => base + r);
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    for (const d of byName.get(m)?.dependencies ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) stack.push(d.code.specifier);
    }
  }
  const files = [...seen].filter((m) => m.startsWith("file:"));
  const kb = files.reduce((n, m) => n + (byName.get(m)?.size ?? 0), 0) / 1024;
  const other = [...seen].filter((m) => !m.startsWith("file:")).sort();
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
      const [ms, cpuMs] = await timed(args, state, ok);
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
