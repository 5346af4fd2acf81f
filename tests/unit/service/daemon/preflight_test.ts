import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { tempDir } from "../../../support/helpers.ts";
import { preflight } from "../../../../lib/service/daemon/preflight.ts";
import { takeInstanceLock } from "../../../../lib/service/daemon/instance_lock.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { resolvePaths } from "../../../../lib/util/paths.ts";
import { EXIT_STOPPED_FOR_GOOD } from "../../../../lib/util/exit_codes.ts";

function run(stateDir: string, protocol: "auto" | "legacy" = "legacy") {
  const lines: string[] = [];
  const done = preflight({
    paths: resolvePaths(stateDir),
    gateway: "ws://127.0.0.1:18789",
    protocol,
    logger: new Logger("json", (l) => lines.push(l)),
    startedAt: "2026-12-01T00:00:00Z",
  });
  return { done, lines };
}

Deno.test("an invalid config stops for good, saying which file and where", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.join("governance"));
  await Deno.writeTextFile(dir.join("governance", "coordinator.jsonc"), "{ sequence: [ }");
  const { done, lines } = run(dir.path);
  const r = await done;
  assertEquals(r, { exit: EXIT_STOPPED_FOR_GOOD });
  assertStringIncludes(lines.join("\n"), "coordinator.jsonc");
  assertStringIncludes(lines.join("\n"), "restarting will not help");
});

Deno.test("a token that cannot be read at the first start stops for good and leaves the lock free", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.join("openclaw.json"), "{ gateway: ");
  const { done, lines } = run(dir.path, "auto");
  assertEquals(await done, { exit: EXIT_STOPPED_FOR_GOOD });
  assertStringIncludes(lines.join("\n"), "openclaw.json");
  // The lock was released: another run can take it.
  const lock = await takeInstanceLock(resolvePaths(dir.path).lock, { pid: 1, startedAt: "x" });
  lock.release();
});

Deno.test("all good: the config, the token and the held lock come back", async () => {
  await using dir = await tempDir();
  const { done } = run(dir.path);
  const r = await done;
  assert(!("exit" in r), JSON.stringify(r));
  assertEquals(r.config.sequence, ["primary", "secondary", "observer"]);
  assertEquals(r.token.source, "none");
  r.lock.release();
});
