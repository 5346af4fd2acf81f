/**
 * A full disk, for real: the state directory is a small tmpfs mounted for the test (needs
 * root, as on these machines; skipped with the reason elsewhere).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { join } from "node:path";
import { LegacyGateway } from "../support/legacy_gateway.ts";
import {
  Daemon,
  ledgerLines,
  ledgerPath,
  python,
  runCli,
  sandboxFlags,
  statusOf,
  tempDir,
  waitFor,
} from "../support/helpers.ts";

async function sh(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
  } catch (err) {
    return { ok: false, err: (err as Error).message };
  }
}

/** Mounts a tmpfs of `size` on `dir`; returns why it cannot, or undefined once mounted. */
async function mountTmpfs(dir: string, size: string): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "a tmpfs mount is Linux only";
  const r = await sh("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir]);
  if (r.ok) return undefined;
  return `cannot mount a tmpfs to fill (${r.err || "mount failed"}); it needs root`;
}

/** Fills the file system holding `dir` until a write fails; returns the filler's path. */
async function fill(dir: string): Promise<string> {
  const path = join(dir, "filler");
  using f = await Deno.open(path, { write: true, create: true });
  for (const size of [1 << 16, 4096, 1]) {
    const chunk = new Uint8Array(size);
    try {
      for (;;) await f.write(chunk);
    } catch (err) {
      if (!String((err as Error).message).includes("No space left")) throw err;
    }
  }
  return path;
}

// The tmpfs is mounted inside the test, so that `--filter` for other tests mounts nothing;
// where it cannot be, the step is skipped with the reason.
Deno.test("a full disk, on a small tmpfs", async (t) => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const why = await mountTmpfs(dir, "4m");
  try {
    await t.step({
      name:
        `run does not crash, writes no partial line, shows DEGRADED with the reason, keeps the violations and writes them once there is room${
          why ? ` (skipped: ${why})` : ""
        }`,
      ignore: why !== undefined,
      fn: async () => {
        const gw = new LegacyGateway().start();
        let daemon: Daemon | undefined;
        try {
          daemon = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
            cwd: dir,
            flags: sandboxFlags(gw.port),
          });
          await waitFor("the subscription", () => gw.subscribers.size === 1, 15_000);
          gw.send(LegacyGateway.update("before", "observer"));
          await waitFor("the first line", async () => (await ledgerLines(dir)).length >= 1);
          await waitFor("a status file", async () => (await statusOf(dir)) !== undefined);

          const filler = await fill(dir);
          for (let i = 0; i < 5; i++) gw.send(LegacyGateway.update(`full-${i}`, "observer"));
          await waitFor("DEGRADED", async () => (await statusOf(dir))?.state === "DEGRADED");
          const s = (await statusOf(dir))!;
          assert(
            s.reasons.some((r) => r.includes("ledger not writable") && r.includes("No space left")),
            JSON.stringify(s.reasons),
          );
          assert(s.ledger.pending > 0, "nothing is waiting to be written");
          // The health check says so too, with the disk still full.
          const health = await runCli(["status"], { cwd: dir, flags: sandboxFlags() });
          assertEquals(health.code, 10, health.stdout + health.stderr);
          // What is in the ledger is whole lines that verify; the rest waits in memory.
          const lines = await ledgerLines(dir);
          assertEquals(lines.length - 1 + s.ledger.pending, 5);
          assertEquals((await python(["verify", ledgerPath(dir)])).code, 0);
          assertEquals(daemon.child.pid > 0 && (await isRunning(daemon.child.pid)), true);

          await Deno.remove(filler);
          await waitFor("every line", async () => (await ledgerLines(dir)).length >= 6, 20_000);
          await waitFor("CONNECTED", async () => (await statusOf(dir))?.state === "CONNECTED");
          assertEquals((await python(["verify", ledgerPath(dir)])).stdout.trim(), "OK 6");
          assertEquals((await daemon.stop()).code, 0);
        } finally {
          await daemon?.stop("SIGKILL").catch(() => {});
          await gw.stop();
        }
      },
    });
  } finally {
    // Before the directory goes: what is removed is then the empty mount point.
    if (why === undefined) await sh("umount", [dir]);
  }
});

async function isRunning(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
