/**
 * The static imports of every module under `lib/`, for the architecture tests.
 * @module
 */
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "./helpers.ts";

/** One module and the repository paths it imports (`lib/...`, or a bare specifier). */
export interface ModuleImports {
  path: string;
  imports: string[];
  text: string;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;

/** Scans `lib/` recursively. */
export async function libImports(): Promise<ModuleImports[]> {
  const out: ModuleImports[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(join(ROOT, path));
        const imports: string[] = [];
        for (const m of text.matchAll(IMPORT)) {
          const spec = m[1] ?? m[2]!;
          imports.push(
            spec.startsWith(".")
              ? relative(ROOT, normalize(join(ROOT, dirname(path), spec)))
              : spec,
          );
        }
        out.push({ path, imports, text });
      }
    }
  };
  await walk("lib");
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Functions (declarations, methods, arrow functions with a block) and their length in lines,
 * found by their opening line and the closing brace at the same indentation (deno fmt's layout).
 */
export function functionLengths(text: string): { name: string; line: number; lines: number }[] {
  const lines = text.split("\n");
  const out: { name: string; line: number; lines: number }[] = [];
  const opener =
    /^(\s*)(?:export\s+)?(?:async\s+)?(?:function\*?\s+(\w+)|(?:static\s+|readonly\s+|private\s+)*(?:get\s+|set\s+)?(#?\w+)\s*\(.*\)\s*(?::\s*[^={]+)?\{$|(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?\(.*=>\s*\{$)/;
  lines.forEach((l, i) => {
    const m = opener.exec(l);
    if (!m) return;
    const indent = m[1]!;
    const name = m[2] ?? m[3] ?? m[4] ?? "?";
    if (["if", "for", "while", "switch", "catch"].includes(name)) return;
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j]!.startsWith(`${indent}}`)) {
        out.push({ name, line: i + 1, lines: j - i + 1 });
        return;
      }
    }
  });
  return out;
}
