/**
 * The command line starts light: what main.ts loads before any command runs, and what
 * `verify` and `status` add, read from Deno's own module graph (`deno info --json main.ts`).
 * Every module in these lists is start-up time for `--help`, `--version`, `verify` and
 * `status`.
 * @module
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { MAIN } from "../../support/helpers.ts";
import { loadedWith, moduleGraph } from "../../support/module_graph.ts";

const graph = await moduleGraph(MAIN);

/**
 * What no command line start-up may load: the daemon's folders, npm, and any `node:` module
 * (the first one starts Deno's Node layer, about 20 ms). The graph holds imports only: the
 * global `process` (which starts that layer too) is for code that runs later, on a path that
 * needs it (`lib/util/hash.ts`, `lib/util/path.ts` on Windows, verify's worker pool).
 */
function heavy(m: string): boolean {
  return m.startsWith("lib/service/") || m.startsWith("lib/gateway/") || m.startsWith("npm:") ||
    m.startsWith("node:");
}

Deno.test("main.ts loads no command, service, gateway, node: module or npm package at start", () => {
  const atStart = loadedWith(graph, ["main.ts"]);
  // The scan read the dispatcher and util's hasher (so it saw their imports).
  assert(atStart.includes("lib/cli/main.ts"), atStart.join("\n"));
  assert(atStart.includes("lib/util/hash.ts"), atStart.join("\n"));
  assertEquals(atStart.filter((m) => heavy(m) || /_commands?\.ts$/.test(m)), []);
});

Deno.test("verify adds the ledger's checking modules only: not its writers, the rules, the service or npm", () => {
  const atStart = new Set(loadedWith(graph, ["main.ts"]));
  const added = loadedWith(graph, ["main.ts", "lib/cli/verify_command.ts"]).filter((m) =>
    !atStart.has(m)
  );
  assert(added.includes("lib/ledger/verify.ts"), added.join("\n"));
  // Nothing from Node: the ledger hashes on its own.
  assertEquals(
    added.filter((m) => !/^lib\/ledger\//.test(m) && m !== "lib/cli/verify_command.ts"),
    [],
  );
  // The ledger's face loads its writers, and they the rules: verify imports verify.ts itself.
  assertEquals(
    added.filter((m) => ["lib/ledger/mod.ts", "lib/ledger/writer.ts"].includes(m)),
    [],
  );
});

Deno.test("status, the health check monitors call, adds only the status file's module and the daemon lock's", () => {
  const atStart = new Set(loadedWith(graph, ["main.ts"]));
  const added = loadedWith(graph, ["main.ts", "lib/cli/status_command.ts"]).filter((m) =>
    !atStart.has(m)
  );
  assertEquals(added, [
    "lib/cli/status_command.ts",
    "lib/service/daemon/instance_lock.ts",
    "lib/service/status.ts",
  ]);
});

Deno.test("each command's module is imported by a literal path (deno compile takes it in)", () => {
  const dynamic = (graph.imports.get("lib/cli/main.ts") ?? []).filter((d) => d.isDynamic === true)
    .map((d) => graph.name(d.code!.specifier)).sort();
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
