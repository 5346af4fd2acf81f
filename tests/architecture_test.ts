/**
 * The folders of `lib/` show the architecture, and the imports keep to it: sources
 * (gateway) emit events, rules turn them into findings, outputs (ledger) consume them, and
 * the service wires them together.
 * @module
 */
import { assert, assertEquals } from "./support/assert.ts";
import { functionLengths, libImports, type ModuleImports } from "./support/imports.ts";

/** What each folder may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  rules: ["util"],
  gateway: ["rules", "util", "version.ts"],
  ledger: ["rules", "util"],
  service: ["cli", "gateway", "ledger", "rules", "util", "version.ts"],
  cli: ["gateway", "ledger", "rules", "service", "util", "version.ts"],
  "version.ts": [],
};

/**
 * Modules the command line may import instead of their folder's mod.ts: a face loads its
 * whole folder, and these are what `verify` and `status` (the health check) need at start
 * (tests/unit/cli/startup_test.ts holds what those load).
 */
const START_UP_FACES: Record<string, string> = {
  "lib/ledger/verify.ts": "lib/cli/verify_command.ts",
  "lib/service/status.ts": "lib/cli/status_command.ts",
  "lib/service/daemon/instance_lock.ts": "lib/cli/status_command.ts",
};

const modules: ModuleImports[] = await libImports();

function folderOf(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? parts[1]! : parts[1]!;
}

Deno.test("each folder imports only the folders below it", () => {
  const wrong: string[] = [];
  for (const m of modules) {
    const from = folderOf(m.path);
    for (const target of m.imports) {
      if (!target.startsWith("lib/")) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (!(ALLOWED[from] ?? []).includes(to)) wrong.push(`${m.path} -> ${target}`);
    }
  }
  assertEquals(wrong, []);
});

Deno.test("another folder is reached through its mod.ts (or a start-up face), never a private file", () => {
  const wrong: string[] = [];
  for (const m of modules) {
    const from = folderOf(m.path);
    for (const target of m.imports) {
      if (!target.startsWith("lib/") || target === "lib/version.ts") continue;
      const to = folderOf(target);
      const face = target.endsWith(`lib/${to}/mod.ts`) || START_UP_FACES[target] === m.path;
      if (to !== from && !face) wrong.push(`${m.path} -> ${target}`);
      const name = target.split("/").pop()!;
      const dir = target.slice(0, target.lastIndexOf("/"));
      if (name.startsWith("_") && !m.path.startsWith(dir + "/")) {
        wrong.push(`${m.path} -> ${target} (private)`);
      }
    }
  }
  assertEquals(wrong, []);
});

Deno.test("no module imports itself through a cycle", () => {
  const graph = new Map(
    modules.map((m) => [m.path, m.imports.filter((i) => i.startsWith("lib/"))]),
  );
  // mod.ts files re-export their folder: a cycle through one is a cycle between folders.
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === "visiting") cycles.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  assertEquals(cycles, []);
});

Deno.test("the import scan sees the modules and their imports", () => {
  // Guards the tests above against a scan that finds nothing (and so passes anything).
  const daemon = modules.find((m) => m.path === "lib/service/daemon/daemon.ts");
  assert(daemon !== undefined, "lib/service/daemon/daemon.ts not scanned");
  assert(daemon.imports.includes("lib/rules/mod.ts"), "daemon's imports not read");
  assert(modules.length > 30, `only ${modules.length} modules scanned`);
});

/** The longest a function in lib/ may be, in lines. */
const MAX_FUNCTION_LINES = 150;

Deno.test(`no function in lib/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
  const long = modules.flatMap((m) =>
    functionLengths(m.text).filter((f) => f.lines > MAX_FUNCTION_LINES).map((f) =>
      `${m.path}:${f.line} ${f.name} (${f.lines} lines)`
    )
  );
  assertEquals(long, []);
});

Deno.test("the function-length scan finds functions and measures them", () => {
  const text = [
    "export async function big(a: number): Promise<void> {",
    ...Array.from({ length: 160 }, () => "  a++;"),
    "}",
    "class C {",
    "  async #method(x: string): Promise<number> {",
    "    return 1;",
    "  }",
    "}",
  ].join("\n");
  assertEquals(functionLengths(text).map((f) => [f.name, f.lines]), [["big", 162], [
    "#method",
    3,
  ]]);
  // The real tree: the daemon's wiring is found.
  const daemon = modules.find((m) => m.path === "lib/service/daemon/daemon.ts")!;
  assert(functionLengths(daemon.text).some((f) => f.name === "runDaemon"));
});
