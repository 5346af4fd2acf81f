/**
 * `deno task compile`: the binary carries the declared permission set (relative paths, no
 * prompts, everything else denied), sums are written, and the binary runs where a compile
 * runtime (denort) exists.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { join } from "node:path";
import { LegacyGateway } from "./support/legacy_gateway.ts";
import { ledgerLines, ROOT, tempStateDir, waitFor } from "./support/helpers.ts";
import { declaredSet, type PermissionAudit } from "../lib/permissions.ts";
import { binaryName, compileArgs, runtimeDownloadFailure, TARGETS } from "../scripts/compile.ts";

const HOST = Deno.build.target;

/** Runs `deno task compile ARGS` from the repository, as a user would. */
async function compileTask(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The permissions object deno compile embeds in a binary's metadata. */
function embeddedPermissions(binary: Uint8Array): Record<string, unknown> {
  // The metadata is JSON inside the binary; its permissions object holds no braces.
  const text = new TextDecoder("latin1").decode(binary);
  const at = text.indexOf('"permissions":{"allow_env"');
  assert(at >= 0, "no permission metadata in the binary");
  const start = text.indexOf("{", at);
  return JSON.parse(text.slice(start, text.indexOf("}", start) + 1));
}

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("compile passes the declared set as flags, relative, with prompts off and the verify worker included", () => {
  const set = declaredSet();
  const args = compileArgs(HOST, "dist/x");
  assertEquals(args.slice(0, 2), ["compile", "--no-prompt"]);
  assert(args.includes(`--allow-read=${set.read.join(",")}`));
  assert(args.includes(`--allow-write=${set.write.join(",")}`));
  assert(args.includes("--allow-net=127.0.0.1:18789"));
  assert(args.includes("--allow-env=OPENCLAW_GATEWAY_TOKEN"));
  for (const k of ["run", "sys", "ffi", "import"]) assert(args.includes(`--deny-${k}`));
  assert(!args.some((a) => a.startsWith("-P") || a.startsWith("--permission-set")));
  assertEquals(args.slice(args.indexOf("--include"), args.indexOf("--include") + 2), [
    "--include",
    "lib/verify_worker.ts",
  ]);
});

Deno.test("a compile runtime that cannot be downloaded is told apart from other compile errors", () => {
  const stderr = "error: Writing deno compile executable to temporary file 'x'\n\nCaused by:\n" +
    "    0: Setting up base binary.\n    1: error sending request for url " +
    "(https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error " +
    "(Connect): dns error: failed to lookup address information\n";
  assertEquals(
    runtimeDownloadFailure(stderr),
    "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
  );
  assertEquals(runtimeDownloadFailure('error: Module not found "file:///x.ts"'), undefined);
});

Deno.test("compile names each binary by version and target, .exe for Windows", () => {
  assert(
    /^moses-coordinator-\d+\.\d+\.\d+-aarch64-apple-darwin$/.test(
      binaryName("aarch64-apple-darwin"),
    ),
  );
  assert(binaryName("x86_64-pc-windows-msvc").endsWith("-x86_64-pc-windows-msvc.exe"));
});

Deno.test("compile rejects an unknown target and several targets with one DENORT_BIN", async () => {
  const unknown = await compileTask(["--target", "mips-unknown-linux", "--out", "/nonexistent"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, "Unknown target mips-unknown-linux");
  const two = await compileTask(
    ["--target", HOST, "--target", "aarch64-apple-darwin", "--out", "/nonexistent"],
    { DENORT_BIN: "/nonexistent/denort" },
  );
  assertEquals(two.code, 2);
  assertStringIncludes(two.stderr, "DENORT_BIN is the runtime of one target");
});

// The full deno binary stands in for denort here: the binary it yields does not run the
// coordinator (it starts a REPL), but deno compile writes the same metadata into it, and
// the metadata is what this test reads.
Deno.test("the compiled binary carries exactly the declared set: relative paths, no prompts, run/sys/ffi/import denied; SHA256SUMS matches", async () => {
  const out = await Deno.makeTempDir({ prefix: "moses-coord-dist-" });
  try {
    const ran = await compileTask(["--target", HOST, "--out", out], {
      DENORT_BIN: Deno.execPath(),
    });
    assertEquals(ran.code, 0, ran.stderr);
    const path = join(out, binaryName(HOST));
    const perms = embeddedPermissions(await Deno.readFile(path));
    const set = declaredSet();
    assertEquals(perms.allow_read, set.read);
    assertEquals(perms.allow_write, set.write);
    assertEquals(perms.allow_net, set.net);
    assertEquals(perms.allow_env, set.env);
    for (const k of ["run", "sys", "ffi", "import"]) assertEquals(perms[`deny_${k}`], []);
    assertEquals(perms.allow_run, null);
    assertEquals(perms.prompt, false);
    const sums = await Deno.readTextFile(join(out, "SHA256SUMS"));
    assertEquals(sums, `${await sha256Hex(path)}  ${binaryName(HOST)}\n`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** Why the compiled binary cannot be built and run here, or undefined when it can. */
async function whyNoRuntime(): Promise<string | undefined> {
  if (Deno.env.get("DENORT_BIN")) return undefined;
  try {
    await Deno.resolveDns("dl.deno.land", "A");
    return undefined;
  } catch {
    return "deno compile cannot download its runtime from dl.deno.land here and DENORT_BIN is " +
      "not set; set DENORT_BIN to a denort binary for this target to run it";
  }
}

const skip = await whyNoRuntime();
if (skip) console.log(`Skipping the compiled-binary run test: ${skip}.`);

Deno.test({
  name:
    `the compiled binary prints its target, shows its grants in the working directory, and records a violation${
      skip ? ` (skipped: ${skip})` : ""
    }`,
  ignore: skip !== undefined,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "moses-coord-dist-" });
    const dir = await tempStateDir();
    const gw = new LegacyGateway().start(18789);
    try {
      const built = await compileTask(["--target", HOST, "--out", out]);
      assertEquals(built.code, 0, built.stderr);
      const bin = join(out, binaryName(HOST));
      const run = async (args: string[]) => {
        const o = await new Deno.Command(bin, { args, cwd: dir, stdout: "piped", stderr: "piped" })
          .output();
        return { code: o.code, stdout: new TextDecoder().decode(o.stdout) };
      };
      const version = await run(["--version"]);
      assertStringIncludes(version.stdout, HOST);
      assertStringIncludes(version.stdout, `deno ${Deno.version.deno}`);
      const audit: PermissionAudit = JSON.parse((await run(["permissions", "--json"])).stdout);
      assertEquals(audit.exact, true);
      assertEquals(audit.grants[0]?.resolved, join(await Deno.realPath(dir), "audits/moses"));

      const daemon = new Deno.Command(bin, {
        args: ["run", "--protocol", "legacy"],
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor("the binary to subscribe", () => gw.subscribers.size === 1, 15_000);
      gw.send(LegacyGateway.update("c1", "observer"));
      await waitFor("a ledger line", async () => (await ledgerLines(dir)).length === 1);
      daemon.kill("SIGTERM");
      assertEquals((await daemon.status).code, 0);
    } finally {
      await gw.stop();
      await Deno.remove(out, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the release workflow builds with the compile task and checks each target it builds", async () => {
  const workflow = await Deno.readTextFile(join(ROOT, ".github/workflows/release.yml"));
  assertStringIncludes(workflow, "run: npx --yes deno@2.9.6 task compile");
  assert(!workflow.includes("deno compile"), "a second recipe: the workflow calls deno compile");
  const checked = [...workflow.matchAll(/target: ([\w-]+) \}/g)].map((m) => m[1]).sort();
  assertEquals(checked, [...TARGETS].sort());
});
