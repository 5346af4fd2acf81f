/**
 * The command line starts light: what main.ts loads before any command runs, and what
 * `verify` adds, read from Deno's own module graph (`deno info --json main.ts`). Every module
 * in these lists is start-up time for `--help`, `--version` and `verify`.
 * @module
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { MAIN, ROOT } from "../../support/helpers.ts";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

interface GraphModule {
  specifier: string;
  dependencies?: Dependency[];
}

const ROOT_URL = new URL(`file://${ROOT.endsWith("/") ? ROOT : `${ROOT}/`}`).href;

async function moduleGraph(): Promise<Map<string, Dependency[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", MAIN],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] };
  return new Map(info.modules.map((m) => [name(m.specifier), m.dependencies ?? []]));
}

/** A repository file as its path (`lib/cli/main.ts`); others as Deno names them. */
function name(specifier: string): string {
  return specifier.startsWith(ROOT_URL) ? specifier.slice(ROOT_URL.length) : specifier;
}

/** The modules loaded with `roots`: static imports that run code (no types, no `import()`). */
function loaded(graph: Map<string, Dependency[]>, roots: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    for (const d of graph.get(m) ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) stack.push(name(d.code.specifier));
    }
  }
  return [...seen].sort();
}

const graph = await moduleGraph();

/** What no command line start-up may load: the daemon's folders, the hasher, npm. */
function heavy(m: string): boolean {
  return m.startsWith("lib/service/") || m.startsWith("lib/gateway/") || m.startsWith("npm:") ||
    m === "node:crypto" || m === "node:process";
}

Deno.test("main.ts loads no command, service, gateway, node:crypto or npm package at start", () => {
  const atStart = loaded(graph, ["main.ts"]);
  // The scan read the dispatcher and util's hasher (so it saw their imports).
  assert(atStart.includes("lib/cli/main.ts"), atStart.join("\n"));
  assert(atStart.includes("lib/util/hash.ts"), atStart.join("\n"));
  assertEquals(atStart.filter((m) => heavy(m) || /_commands?\.ts$/.test(m)), []);
});

Deno.test("verify adds the ledger and the rules, not the service, gateway or npm", () => {
  const atStart = new Set(loaded(graph, ["main.ts"]));
  const added = loaded(graph, ["main.ts", "lib/cli/verify_command.ts"]).filter((m) =>
    !atStart.has(m)
  );
  assert(added.includes("lib/ledger/verify.ts"), added.join("\n"));
  // Nothing from Node beyond what the dispatcher loaded: the ledger hashes on its own.
  assertEquals(
    added.filter((m) =>
      !/^lib\/(ledger|rules|util)\//.test(m) && m !== "lib/cli/verify_command.ts"
    ),
    [],
  );
});

Deno.test("each command's module is imported by a literal path (deno compile takes it in)", () => {
  const dynamic = (graph.get("lib/cli/main.ts") ?? []).filter((d) => d.isDynamic === true)
    .map((d) => name(d.code!.specifier)).sort();
  assertEquals([...new Set(dynamic)], [
    "lib/cli/classify_command.ts",
    "lib/cli/daemon_commands.ts",
    "lib/cli/ledger_commands.ts",
    "lib/cli/permissions_command.ts",
    "lib/cli/replay_command.ts",
    "lib/cli/status_command.ts",
    "lib/cli/verify_command.ts",
  ]);
});
