/**
 * What a module loads at start, read from Deno's own module graph (`deno info --json`): the
 * static imports that run code, not types, not `import()`.
 * @module
 */
import { assert } from "./assert.ts";
import { ROOT } from "./helpers.ts";

/** An import, as `deno info --json` lists it. */
export interface Dependency {
  /** The imported module, for an import that runs code. */
  code?: { specifier: string };
  /** Whether it is an `import()`. */
  isDynamic?: boolean;
}

interface GraphModule {
  specifier: string;
  size?: number;
  dependencies?: Dependency[];
}

/** A module graph, its modules named by {@link ModuleGraph.name}. */
export interface ModuleGraph {
  /** Each module's imports. */
  imports: Map<string, Dependency[]>;
  /** Each module's size in bytes, where Deno gives it. */
  sizes: Map<string, number>;
  /** A file under the graph's root as its path from there (`lib/cli/main.ts`); others as Deno names them. */
  name(specifier: string): string;
}

/** The graph of `entry` (a path from `root`, by default the repository's). */
export async function moduleGraph(entry: string, root: string = ROOT): Promise<ModuleGraph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] };
  const rootUrl = new URL(`file://${root.endsWith("/") ? root : `${root}/`}`).href;
  const name = (specifier: string) =>
    specifier.startsWith(rootUrl) ? specifier.slice(rootUrl.length) : specifier;
  return {
    imports: new Map(info.modules.map((m) => [name(m.specifier), m.dependencies ?? []])),
    sizes: new Map(info.modules.map((m) => [name(m.specifier), m.size ?? 0])),
    name,
  };
}

/** The modules loaded with `roots`, sorted. */
export function loadedWith(graph: ModuleGraph, roots: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    for (const d of graph.imports.get(m) ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) stack.push(graph.name(d.code.specifier));
    }
  }
  return [...seen].sort();
}
