import { assertEquals } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { VERIFY_WORKER_INPUTS } from "../../../lib/ledger/_verify_worker_source.ts";
import { libImports } from "../../support/imports.ts";
import { ROOT } from "../../support/helpers.ts";

Deno.test("the workers' bundled source is built from the modules as they are now (else: deno task bundle-worker)", async () => {
  // The modules the worker imports, followed from its entry through the repository.
  const modules = new Map((await libImports()).map((m) => [m.path, m]));
  const reached = new Set<string>();
  const visit = (path: string) => {
    if (reached.has(path)) return;
    reached.add(path);
    for (const target of modules.get(path)?.imports ?? []) {
      if (target.startsWith("lib/")) visit(target);
    }
  };
  visit("lib/ledger/_verify_worker.ts");
  assertEquals([...reached].sort(), Object.keys(VERIFY_WORKER_INPUTS).sort());
  const current: Record<string, string> = {};
  for (const path of reached) {
    const text = await Deno.readTextFile(join(ROOT, path));
    current[path] = createHash("sha256").update(text).digest("hex");
  }
  assertEquals(current, { ...VERIFY_WORKER_INPUTS });
});
