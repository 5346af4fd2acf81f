/**
 * The coordinator under exactly the declared permission set (deno.json, "coordinator"),
 * gateway on 127.0.0.1:18789 as the set allows, in a temporary state directory.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { fileURLToPath } from "node:url";
import { LegacyGateway } from "../support/legacy_gateway.ts";
import {
  Daemon,
  ledgerLines,
  ledgerPath,
  MAIN,
  python,
  ROOT,
  runCli,
  sandboxFlags,
  statusOf,
  tempDir,
  waitFor,
} from "../support/helpers.ts";
import type { PermissionAudit } from "../../lib/service/permissions.ts";
import { v8FlagsArg } from "../../lib/service/v8_flags.ts";

const update = LegacyGateway.update;
const PROBE = fileURLToPath(new URL("../support/sandbox_probe.ts", import.meta.url));
const GATEWAY_PORT = 18789;

function startGateway(): LegacyGateway {
  try {
    return new LegacyGateway().start(GATEWAY_PORT);
  } catch (err) {
    throw new Error(
      `Cannot listen on 127.0.0.1:${GATEWAY_PORT}, the port the permission set grants: ` +
        `${(err as Error).message}; stop whatever uses it (an OpenClaw gateway?) and rerun`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("under the declared set the ledger is written, and writing outside audits/moses, reading other files, other ports, processes and other env variables are denied and reported while the daemon keeps running", async () => {
  await using dir = await tempDir();
  await using outsideDir = await tempDir();
  const gw = startGateway();
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let otherConnections = 0;
  const accepting = (async () => {
    for await (const conn of other) {
      otherConnections++;
      conn.close();
    }
  })();
  await Deno.writeTextFile(dir.join("unrelated.txt"), "not the coordinator's");
  const daemon = new Daemon(["--protocol", "legacy"], {
    cwd: dir.path,
    flags: [...sandboxFlags(), `--preload=${PROBE}`],
  });
  try {
    await waitFor("the coordinator to subscribe", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("c1", "observer"));
    await waitFor(
      "the first violation in the ledger",
      async () => (await ledgerLines(dir.path)).length === 1,
    );

    const probe = {
      outside: outsideDir.join("escaped.txt"),
      unrelated: dir.join("unrelated.txt"),
      port: (other.addr as Deno.NetAddr).port,
      marker: outsideDir.join("ran"),
    };
    await Deno.writeTextFile(dir.join("audits/moses/probe.json"), JSON.stringify(probe));
    await waitFor(
      "five sandbox denials in the log",
      () => daemon.stderr.split("\n").filter((l) => l.includes("sandbox denied")).length === 5,
    );
    const denials = daemon.stderr.split("\n").filter((l) => l.includes("sandbox denied"));
    for (
      const needle of [
        `write access to "${probe.outside}"`,
        `read access to "${probe.unrelated}"`,
        `net access to "127.0.0.1:${probe.port}"`,
        `run access to "sh"`,
        `env access to "HOME"`,
      ]
    ) {
      assert(denials.some((l) => l.includes(needle)), `no denial naming ${needle}:\n${denials}`);
    }
    assert(!(await exists(probe.outside)), "a file outside audits/moses was written");
    assert(!(await exists(probe.marker)), "a process was started");
    assertEquals(otherConnections, 0, "a connection reached another port");
    await waitFor(
      "the status to count the denials",
      async () => (await statusOf(dir.path))?.sandbox?.denials === 5,
    );
    const s = await statusOf(dir.path);
    assert(s!.reasons.some((r) => r.includes("the sandbox denied 5 operations")), `${s!.reasons}`);

    // Still watching, still writing.
    gw.send(update("c2", "secondary"));
    await waitFor(
      "the second violation in the ledger",
      async () => (await ledgerLines(dir.path)).length === 2,
    );

    const signalled = performance.now();
    const status = await daemon.stop("SIGTERM");
    const tookMs = performance.now() - signalled;
    assertEquals(status.code, 0);
    assert(tookMs < 1_000, `SIGTERM took ${tookMs.toFixed(0)} ms to end run`);
    const verified = await python(["verify", ledgerPath(dir.path)]);
    assertEquals(verified.code, 0, verified.stdout + verified.stderr);
    assertEquals((await ledgerLines(dir.path)).length, 2);
  } finally {
    await daemon.stop("SIGKILL").catch(() => {});
    other.close();
    await accepting.catch(() => {});
    await gw.stop();
  }
});

Deno.test("permissions shows each grant resolved in the working directory, and nothing else granted, under the declared set", async () => {
  await using dir = await tempDir();
  const ran = await runCli(["permissions", "--json"], { cwd: dir.path, flags: sandboxFlags() });
  assertEquals(ran.code, 0, ran.stderr);
  const audit: PermissionAudit = JSON.parse(ran.stdout);
  const real = await Deno.realPath(dir.path);
  assertEquals(audit.workingDirectory, real);
  assertEquals(
    audit.grants.map((g) => `${g.kind} ${g.resolved ?? g.declared} ${g.state}`),
    [
      `read ${real}/audits/moses granted`,
      `read ${real}/governance/state.json granted`,
      `read ${real}/governance/coordinator.jsonc granted`,
      `read ${real}/openclaw.json granted`,
      `write ${real}/audits/moses granted`,
      "net 127.0.0.1:18789 granted",
      "env OPENCLAW_GATEWAY_TOKEN granted",
    ],
  );
  assertEquals(
    audit.notGranted.map((k) => `${k.kind} ${k.granted}`),
    [
      "read false",
      "write false",
      "net false",
      "env false",
      "run false",
      "sys false",
      "ffi false",
      "import false",
    ],
  );
  assertEquals([audit.allGranted, audit.wholeKindsGranted], [true, []]);

  const text = await runCli(["permissions"], { cwd: dir.path, flags: sandboxFlags() });
  assertStringIncludes(text.stdout, `write  ${real}/audits/moses`);
  assertStringIncludes(text.stdout, "Every declared grant is live.");
  assertStringIncludes(text.stdout, "No kind is granted as a whole.");
});

Deno.test("permissions tells a process with more than the declared set", async () => {
  await using dir = await tempDir();
  const ran = await runCli(["permissions", "--json"], { cwd: dir.path, flags: ["-A"] });
  const audit: PermissionAudit = JSON.parse(ran.stdout);
  assertEquals(audit.wholeKindsGranted, [
    "read",
    "write",
    "net",
    "env",
    "run",
    "sys",
    "ffi",
    "import",
  ]);
  assertStringIncludes(
    (await runCli(["permissions"], { cwd: dir.path, flags: ["-A"] })).stdout,
    "Granted as a whole, beyond the set: read, write, net, env, run, sys, ffi, import.",
  );
});

Deno.test("run started outside its state directory names the missing grant and why, and exits 0", async () => {
  await using work = await tempDir();
  await using stateDir = await tempDir();
  const ran = await runCli(["run", "--state-dir", stateDir.path, "--protocol", "legacy"], {
    cwd: work.path,
    flags: sandboxFlags(),
  });
  assertEquals(ran.code, 0);
  assertStringIncludes(ran.stderr, `Access to the state directory ${stateDir.path} is not granted`);
  assertStringIncludes(
    ran.stderr,
    `relative to the working directory (${await Deno.realPath(work.path)})`,
  );
  assertStringIncludes(ran.stderr, `start the coordinator in ${stateDir.path}`);
  assertEquals(await exists(stateDir.join("audits")), false);
});

Deno.test("run with a gateway outside the net grant says which grant and how to fix it, and exits 0", async () => {
  await using dir = await tempDir();
  const ran = await runCli(["run", "--gateway", "ws://localhost:18789"], {
    cwd: dir.path,
    flags: sandboxFlags(),
  });
  assertEquals(ran.code, 0);
  assertStringIncludes(ran.stderr, "Network access to localhost:18789 is not granted");
  assertStringIncludes(ran.stderr, "use --gateway ws://127.0.0.1:18789");
});

Deno.test("run with a gateway on another port names the cause and both fixes: the granted port, or a binary built for the port", async () => {
  await using dir = await tempDir();
  const ran = await runCli(["run", "--gateway", "ws://127.0.0.1:18790"], {
    cwd: dir.path,
    flags: sandboxFlags(),
  });
  assertEquals(ran.code, 0);
  assertStringIncludes(
    ran.stderr,
    "Network access to 127.0.0.1:18790 is not granted: --gateway ws://127.0.0.1:18790 is " +
      "outside the net grant, which allows only 127.0.0.1:18789",
  );
  assertStringIncludes(ran.stderr, "deno task compile --port 18790");
  assertStringIncludes(ran.stderr, "restarting will not help until this is fixed");
});

Deno.test("run with a ledger outside audits/moses names the grant it lacks, and exits 0", async () => {
  await using dir = await tempDir();
  const ran = await runCli(["run", "--ledger", "elsewhere/ledger.jsonl"], {
    cwd: dir.path,
    flags: sandboxFlags(),
  });
  assertEquals(ran.code, 0);
  const real = await Deno.realPath(dir.path);
  assertStringIncludes(
    ran.stderr,
    `Write access to ${real}/elsewhere is not granted: it is outside the set, which grants ` +
      `write only to ${real}/audits/moses`,
  );
});

/** Deno's cache directory, so a process with another HOME does not fetch npm packages again. */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

// Processes started by `pid`, and theirs (Linux: /proc).
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing paren.
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      parents.set(Number(e.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    for (const [child, parent] of parents) {
      if (parent === p) {
        out.push(child);
        todo.push(child);
      }
    }
  }
  return out;
}

function commandLine(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  } catch {
    return [];
  }
}

Deno.test("deno task start runs the coordinator in ~/.openclaw with its V8 flags, writes the ledger there, and ends with exit 0 on SIGTERM", async () => {
  await using home = await tempDir();
  const gw = startGateway();
  const task = new Deno.Command(Deno.execPath(), {
    args: ["task", "start", "--protocol", "legacy"],
    cwd: ROOT,
    env: { HOME: home.path, NO_COLOR: "1", DENO_DIR: await denoDir() },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stateDir = home.join(".openclaw");
  try {
    await waitFor("the coordinator to subscribe", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("c1", "observer"));
    await waitFor(
      "a ledger line under ~/.openclaw",
      async () => (await ledgerLines(stateDir)).length === 1,
    );
    if (Deno.build.os === "linux") {
      // The coordinator the task started runs with the V8 flags the compiled binary has.
      const args = descendants(task.pid).map(commandLine).find((a) => a.includes(MAIN));
      assert(args !== undefined, "no coordinator process under deno task start");
      assert(args.includes(v8FlagsArg()), args.join(" "));
    }
    task.kill("SIGTERM");
    const out = await task.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertStringIncludes(new TextDecoder().decode(out.stderr), "INFO  stopped written=1");
  } finally {
    try {
      task.kill("SIGKILL");
    } catch { /* exited */ }
    await gw.stop();
  }
});

Deno.test("signals repeated while stopping (a launcher and a service manager both passing one on) still end run cleanly with exit 0", async () => {
  await using dir = await tempDir();
  const gw = new LegacyGateway().start();
  const daemon = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
    cwd: dir.path,
    flags: sandboxFlags(gw.port),
  });
  try {
    await waitFor("the coordinator to subscribe", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("c1", "observer"));
    await waitFor("the violation", async () => (await ledgerLines(dir.path)).length === 1);
    // Another writer holds the ledger: the shutdown waits for it, long enough to be signalled
    // again while it stops.
    using held = await Deno.open(ledgerPath(dir.path), { read: true, write: true });
    await held.lock(true);
    gw.send(update("c2", "observer"));
    await waitFor("the second violation", () => daemon.stderr.includes("conversation c2"));
    daemon.child.kill("SIGTERM");
    await waitFor("stopping", () => daemon.stderr.includes("INFO  stopping"));
    for (const s of ["SIGTERM", "SIGINT", "SIGTERM"] as const) daemon.child.kill(s);
    const status = await daemon.exited();
    assertEquals(status.code, 0, daemon.stderr);
    assertStringIncludes(daemon.stderr, "INFO  already stopping");
    assertStringIncludes(daemon.stderr, "they are kept in the snapshot");
    assertStringIncludes(daemon.stderr, "INFO  stopped written=1");
  } finally {
    await daemon.stop("SIGKILL").catch(() => {});
    await gw.stop();
  }
});

Deno.test("status and verify pointed at another state directory under the set say the grants follow the working directory", async () => {
  await using work = await tempDir();
  await using stateDir = await tempDir();
  for (const command of ["status", "verify"]) {
    const ran = await runCli([command, "--state-dir", stateDir.path], {
      cwd: work.path,
      flags: sandboxFlags(),
    });
    assertEquals(ran.code, 77, ran.stderr);
    assertStringIncludes(ran.stderr, "the permission set does not grant it");
    assertStringIncludes(ran.stderr, "run this command in the OpenClaw state directory");
    assert(!ran.stderr.includes("--allow-read"), ran.stderr);
  }
});
