import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { tempDir } from "../../../support/helpers.ts";
import {
  daemonLiveness,
  InstanceLocked,
  takeInstanceLock,
} from "../../../../lib/service/daemon/instance_lock.ts";

Deno.test("a second lock on one state directory is refused, naming the process that holds it", async () => {
  await using dir = await tempDir();
  const path = dir.join("daemon.lock");
  const first = await takeInstanceLock(path, { pid: 4242, startedAt: "2026-12-01T00:00:00Z" });
  let refused: unknown;
  try {
    await takeInstanceLock(path, { pid: 1, startedAt: "x" });
  } catch (err) {
    refused = err;
  }
  assert(refused instanceof InstanceLocked, String(refused));
  assertEquals(refused.holder, { pid: 4242, startedAt: "2026-12-01T00:00:00Z" });
  assertStringIncludes(refused.message, "process 4242");
  assertStringIncludes(refused.message, "stop it first");
  first.release();
  // Released: the next one takes it.
  const second = await takeInstanceLock(path, { pid: 7, startedAt: "y" });
  assertEquals(JSON.parse(await Deno.readTextFile(path)).pid, 7);
  second.release();
});

Deno.test("a lock held by another process refuses this one, and a killed holder frees it", async () => {
  await using dir = await tempDir();
  const path = dir.join("daemon.lock");
  // Another process takes the lock and reports when it has it.
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const f = await Deno.open(${JSON.stringify(path)}, {read: true, write: true, create: true});
       await f.lock(true);
       await f.write(new TextEncoder().encode(JSON.stringify({pid: Deno.pid}) + "\\n"));
       console.log("locked");
       setInterval(() => {}, 1_000_000);`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
  for (let seen = ""; !seen.includes("locked");) seen += (await reader.read()).value ?? "";
  try {
    await takeInstanceLock(path, { pid: Deno.pid, startedAt: "x" });
    throw new Error("the lock was taken while another process held it");
  } catch (err) {
    assert(err instanceof InstanceLocked, String(err));
    assertEquals(err.holder.pid, holder.pid);
  }
  holder.kill("SIGKILL");
  await holder.status;
  reader.releaseLock();
  await holder.stdout.cancel().catch(() => {});
  const lock = await takeInstanceLock(path, { pid: Deno.pid, startedAt: "x" });
  lock.release();
});

Deno.test("daemonLiveness tells a held lock from a free or a missing one, and leaves it free", async () => {
  await using dir = await tempDir();
  const path = dir.join("daemon.lock");
  assertEquals(await daemonLiveness(path), "not running");
  const held = await takeInstanceLock(path, { pid: 1, startedAt: "x" });
  assertEquals(await daemonLiveness(path), "running");
  held.release();
  assertEquals(await daemonLiveness(path), "not running");
  // Looking did not keep the lock: a daemon takes it.
  (await takeInstanceLock(path, { pid: 2, startedAt: "y" })).release();
});
