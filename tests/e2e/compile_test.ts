/**
 * `deno task compile`: the binary carries the declared permission set (relative paths, no
 * prompts, everything else denied), sums are written, and the binary runs where a compile
 * runtime (denort) exists.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { LegacyGateway } from "../support/legacy_gateway.ts";
import { ledgerLines, ROOT, tempDir, waitFor } from "../support/helpers.ts";
import { declaredSet, type PermissionAudit } from "../../lib/service/permissions.ts";
import {
  binaryName,
  buildSet,
  compileArgs,
  EXIT_RUNTIME_UNAVAILABLE,
  parsePort,
  portEntryPath,
  portEntrySource,
  runtimeDownloadFailure,
  TARGETS,
} from "../../scripts/compile.ts";
import { v8FlagsArg } from "../../lib/service/v8_flags.ts";
import { loadedWith, moduleGraph } from "../support/module_graph.ts";
import { differences, embeddedPermissions } from "../../scripts/embedded_permissions.ts";

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

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("compile passes the V8 flags and the declared set as flags, relative, with prompts off", () => {
  const set = declaredSet();
  const args = compileArgs(HOST, "dist/x");
  assertEquals(args.slice(0, 3), ["compile", v8FlagsArg(), "--no-prompt"]);
  assert(args.includes(`--allow-read=${set.read.join(",")}`));
  assert(args.includes(`--allow-write=${set.write.join(",")}`));
  assert(args.includes("--allow-net=127.0.0.1:18789"));
  assert(args.includes("--allow-env=OPENCLAW_GATEWAY_TOKEN"));
  for (const k of ["run", "sys", "ffi", "import"]) assert(args.includes(`--deny-${k}`));
  assert(!args.some((a) => a.startsWith("-P") || a.startsWith("--permission-set")));
  // verify's workers run from their bundled source: no module to include by name.
  assert(!args.includes("--include"));
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

Deno.test("the embedded-set check names every way a binary's set is broader than the declared one", () => {
  const set = declaredSet();
  const exact = {
    allow_env: set.env,
    allow_net: set.net,
    allow_read: set.read,
    allow_write: set.write,
    allow_run: null,
    allow_sys: null,
    allow_ffi: null,
    deny_run: [],
    deny_sys: [],
    deny_ffi: [],
    deny_import: [],
    prompt: false,
  };
  assertEquals(differences(exact, set), []);
  const broader = {
    ...exact,
    allow_read: [...set.read, "/etc"],
    allow_run: ["sh"],
    deny_run: null,
    prompt: true,
  };
  const found = differences(broader, set).join("\n");
  for (const needle of ["allow_read", "allow_run", "deny_run", "prompt"]) {
    assertStringIncludes(found, needle);
  }
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
  await using out = await tempDir();
  const ran = await compileTask(["--target", HOST, "--out", out.path], {
    DENORT_BIN: Deno.execPath(),
  });
  assertEquals(ran.code, 0, ran.stderr);
  const path = out.join(binaryName(HOST));
  const perms = embeddedPermissions(await Deno.readFile(path))!;
  const set = declaredSet();
  assertEquals(differences(perms, set), []);
  assertEquals(perms.allow_read, set.read);
  assertEquals(perms.allow_write, set.write);
  assertEquals(perms.allow_net, set.net);
  assertEquals(perms.allow_env, set.env);
  for (const k of ["run", "sys", "ffi", "import"]) assertEquals(perms[`deny_${k}`], []);
  assertEquals(perms.allow_run, null);
  assertEquals(perms.prompt, false);
  const sums = await Deno.readTextFile(out.join("SHA256SUMS"));
  assertEquals(sums, `${await sha256Hex(path)}  ${binaryName(HOST)}\n`);
});

// The port the binary's baked-in grant allows: its gateway must listen there.
const GRANTED_PORT = 18789;

// The binary is built with the compile task as users run it, inside the test so that
// `--filter` for other tests does not build it. Where the runtime cannot be fetched, the
// task says so (exit 69) and the run is skipped with the task's own words; so it is when the
// granted port is taken.
Deno.test("the compiled binary for this machine", async (t) => {
  let gw: LegacyGateway | undefined;
  let skip: string | undefined;
  try {
    gw = new LegacyGateway().start(GRANTED_PORT);
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    skip = `port ${GRANTED_PORT}, the only one the binary may connect to, is in use; ` +
      "stop what listens there to run it";
  }
  try {
    await using out = await tempDir();
    const hostBuild = skip === undefined
      ? await compileTask(["--target", HOST, "--out", out.path])
      : undefined;
    if (hostBuild?.code === EXIT_RUNTIME_UNAVAILABLE) {
      skip = hostBuild.stderr.split("\n").find((l) => l.startsWith("Cannot build"))
        ?.replace(/\.$/, "");
    }
    await t.step({
      name: `prints its target, shows its grants in the working directory, and records a violation${
        skip ? ` (skipped: ${skip})` : ""
      }`,
      ignore: skip !== undefined,
      fn: async () => {
        await using dir = await tempDir();
        assertEquals(hostBuild!.code, 0, hostBuild!.stderr);
        const bin = out.join(binaryName(HOST));
        const run = async (args: string[]) => {
          const o = await new Deno.Command(bin, {
            args,
            cwd: dir.path,
            stdout: "piped",
            stderr: "piped",
          }).output();
          return { code: o.code, stdout: new TextDecoder().decode(o.stdout) };
        };
        const version = await run(["--version"]);
        assertStringIncludes(version.stdout, HOST);
        assertStringIncludes(version.stdout, `deno ${Deno.version.deno}`);
        const audit: PermissionAudit = JSON.parse((await run(["permissions", "--json"])).stdout);
        assertEquals([audit.allGranted, audit.wholeKindsGranted], [true, []]);
        assertEquals(
          audit.grants[0]?.resolved,
          join(await Deno.realPath(dir.path), "audits/moses"),
        );

        const daemon = new Deno.Command(bin, {
          args: ["run", "--protocol", "legacy"],
          cwd: dir.path,
          stdout: "null",
          stderr: "null",
        }).spawn();
        let code: number;
        try {
          await waitFor("the binary to subscribe", () => gw!.subscribers.size === 1, 15_000);
          gw!.send(LegacyGateway.update("c1", "observer"));
          await waitFor("a ledger line", async () => (await ledgerLines(dir.path)).length === 1);
        } finally {
          daemon.kill("SIGTERM");
          code = (await daemon.status).code;
        }
        assertEquals(code, 0);
      },
    });
  } finally {
    await gw?.stop();
  }
});

Deno.test("the release workflow builds with the compile task and checks each target it builds", async () => {
  const workflow = await Deno.readTextFile(join(ROOT, ".github/workflows/release.yml"));
  assertStringIncludes(workflow, "run: npx --yes deno@2.9.6 task compile");
  assert(!workflow.includes("deno compile"), "a second recipe: the workflow calls deno compile");
  const checked = [...workflow.matchAll(/target: ([\w-]+) \}/g)].map((m) => m[1]).sort();
  assertEquals(checked, [...TARGETS].sort());
});

Deno.test("compile --port N changes only the net grant and the entry, which sets that grant first", () => {
  const plain = compileArgs(HOST, "dist/x");
  const moved = compileArgs(HOST, "dist/x", { port: 18790 });
  assertEquals(plain.length, moved.length);
  const differing = plain.map((a, i) => [a, moved[i]]).filter(([a, b]) => a !== b);
  assertEquals(differing, [
    ["--allow-net=127.0.0.1:18789", "--allow-net=127.0.0.1:18790"],
    ["main.ts", portEntryPath(18790)],
  ]);
  assertEquals(buildSet(18790), { ...declaredSet(), net: ["127.0.0.1:18790"] });
  assertStringIncludes(portEntrySource(18790), 'overrideNetGrant(["127.0.0.1:18790"]);');
  assertEquals(binaryName(HOST, { port: 18790 }), `moses-coordinator-0.1.0-port18790-${HOST}`);
  for (const bad of ["0", "65536", "-1", "80a", "", "123456"]) {
    assertEquals(parsePort(bad), undefined);
  }
  assertEquals([parsePort("1"), parsePort("65535")], [1, 65535]);
});

Deno.test("compile --port rejects what is not a port", async () => {
  const ran = await compileTask(["--port", "http"]);
  assertEquals(ran.code, 2);
  assertStringIncludes(ran.stderr, "Invalid --port http: use a port number from 1 to 65535");
});

Deno.test("the --port entry loads at start what main.ts does and the net grant's module, nothing more", async () => {
  const entry = portEntryPath(18790);
  await Deno.writeTextFile(entry, portEntrySource(18790));
  try {
    const portGraph = await moduleGraph(entry);
    const name = portGraph.name(new URL(`file://${entry}`).href);
    const portStart = loadedWith(portGraph, [name]);
    const plainStart = new Set(loadedWith(await moduleGraph("main.ts"), ["main.ts"]));
    const added = portStart.filter((m) => m !== name && !plainStart.has(m));
    // The grant's own module; no daemon, gateway, command or node: module.
    assertEquals(added, ["lib/service/net_grant.ts"]);
  } finally {
    await Deno.remove(entry);
  }
});

// The entry a --port build compiles, run under the flags that build bakes in: its
// `permissions` and `run` follow the moved grant (no compile runtime is needed for this).
Deno.test("the --port entry shows the moved net grant as live and run connects there by default", async () => {
  await using dir = await tempDir();
  const entry = portEntryPath(18790);
  await Deno.writeTextFile(entry, portEntrySource(18790));
  try {
    const flags = compileArgs(HOST, "x", { port: 18790 }).filter((a) => a.startsWith("--"))
      .filter((a) => !["--include", "--target", "--output"].includes(a));
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, entry, ...args],
        cwd: dir.path,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      });
    const audit: PermissionAudit = JSON.parse(
      new TextDecoder().decode((await run(["permissions", "--json"]).output()).stdout),
    );
    const net = audit.grants.filter((g) => g.kind === "net");
    assertEquals(net.map((g) => [g.declared, g.granted]), [["127.0.0.1:18790", true]]);
    assertEquals(audit.allGranted, true);

    const daemon = run(["run", "--protocol", "legacy"]).spawn();
    let stderr = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const c of daemon.stderr) stderr += dec.decode(c, { stream: true });
    })();
    try {
      await waitFor("the daemon's start line", () => stderr.includes("started"), 30_000);
      assertStringIncludes(stderr, "ws://127.0.0.1:18790");
      assert(!stderr.includes("not granted"), stderr);
    } finally {
      daemon.kill("SIGTERM");
      await daemon.status;
      await daemon.stdout.cancel();
      await reading;
    }
  } finally {
    await Deno.remove(entry);
  }
});

Deno.test("compile --port N: the binary carries the set with only the net grant moved; the entry is removed", async () => {
  await using out = await tempDir();
  const ran = await compileTask(["--target", HOST, "--out", out.path, "--port", "18790"], {
    DENORT_BIN: Deno.execPath(),
  });
  assertEquals(ran.code, 0, ran.stderr);
  const path = out.join(binaryName(HOST, { port: 18790 }));
  const perms = embeddedPermissions(await Deno.readFile(path))!;
  assertEquals(differences(perms, buildSet(18790)), []);
  assertEquals(perms.allow_net, ["127.0.0.1:18790"]);
  assertEquals(perms.allow_read, declaredSet().read);
  assertEquals(perms.allow_write, declaredSet().write);
  assertEquals(perms.allow_env, declaredSet().env);
  assertEquals(perms.prompt, false);
  let left = true;
  try {
    await Deno.stat(portEntryPath(18790));
  } catch {
    left = false;
  }
  assertEquals(left, false);
});

// A runnable binary needs the real runtime (denort): DENORT_BIN, else the download; where
// neither is to be had, the check is skipped with the reason.
Deno.test("a binary built with --port shows its moved net grant in permissions", async (t) => {
  await using out = await tempDir();
  const denort = Deno.env.get("DENORT_BIN");
  const built = await compileTask(
    ["--target", HOST, "--out", out.path, "--port", "18790"],
    denort ? { DENORT_BIN: denort } : {},
  );
  let skip: string | undefined;
  if (built.code === EXIT_RUNTIME_UNAVAILABLE) {
    skip = "no DENORT_BIN, and " +
      (built.stderr.split("\n").find((l) => l.startsWith("Cannot build"))?.replace(/\.$/, "") ??
        "the runtime cannot be downloaded");
  }
  await t.step({
    name: `permissions --json of the binary${skip ? ` (skipped: ${skip})` : ""}`,
    ignore: skip !== undefined,
    fn: async () => {
      assertEquals(built.code, 0, built.stderr);
      await using dir = await tempDir();
      const o = await new Deno.Command(out.join(binaryName(HOST, { port: 18790 })), {
        args: ["permissions", "--json"],
        cwd: dir.path,
        stdout: "piped",
      }).output();
      const audit: PermissionAudit = JSON.parse(new TextDecoder().decode(o.stdout));
      assertEquals(
        audit.grants.filter((g) => g.kind === "net").map((g) => [g.declared, g.granted]),
        [["127.0.0.1:18790", true]],
      );
    },
  });
});
