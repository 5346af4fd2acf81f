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
  dependencies?: Dependency[];
}

const ROOT_URL = new URL(`file://${ROOT.endsWith("/") ? ROOT : `${ROOT}/`}`).href;

/** A repository file as its path (`lib/cli/main.ts`); others as Deno names them. */
export function moduleName(specifier: string): string {
  return specifier.startsWith(ROOT_URL) ? specifier.slice(ROOT_URL.length) : specifier;
}

/** The graph of `entry` (a path from the repository's root): each module's imports. */
export async function moduleGraph(entry: string): Promise<Map<string, Dependency[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] };
  return new Map(info.modules.map((m) => [moduleName(m.specifier), m.dependencies ?? []]));
}

/** The modules loaded with `roots`, sorted. */
export function loadedWith(graph: Map<string, Dependency[]>, roots: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    for (const d of graph.get(m) ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) stack.push(moduleName(d.code.specifier));
    }
  }
  return [...seen].sort();
}
