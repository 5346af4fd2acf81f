/**
 * The daemon in-process (no sandbox, no child process): its parts wired together against
 * the scripted legacy gateway, a real ledger file and a real snapshot.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { tempDir, waitFor } from "../../../support/helpers.ts";
import { LegacyGateway } from "../../../support/legacy_gateway.ts";
import { violationFinding } from "../../../support/findings.ts";
import { runDaemon } from "../../../../lib/service/daemon/daemon.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { resolvePaths } from "../../../../lib/util/paths.ts";
import { saveSnapshot } from "../../../../lib/service/snapshot.ts";
import { parseStatus } from "../../../../lib/service/status.ts";
import { ensurePrivateDir } from "../../../../lib/util/fs.ts";

async function ledgerLines(path: string): Promise<Record<string, unknown>[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "").map((l) =>
      JSON.parse(l)
    );
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** Runs the daemon in-process until `stop()`; collects its log lines. */
function start(stateDir: string, gatewayUrl: string) {
  const lines: string[] = [];
  let stop!: () => void;
  const stopSignal = new Promise<void>((r) => (stop = r));
  const done = runDaemon({
    paths: resolvePaths(stateDir),
    gateway: gatewayUrl,
    protocol: "legacy",
    logger: new Logger("json", (l) => lines.push(l)),
    stopSignal,
  });
  return {
    lines,
    msgs: () => lines.map((l) => JSON.parse(l).msg as string),
    stop: async () => {
      stop();
      return await done;
    },
    done,
  };
}

Deno.test("a snapshot holding more pending violations than maxPendingViolations starts, drops the rest and keeps running", async () => {
  await using dir = await tempDir();
  const gw = new LegacyGateway().start();
  try {
    const paths = resolvePaths(dir.path);
    await ensurePrivateDir(paths.own);
    await Deno.mkdir(dir.join("governance"));
    await Deno.writeTextFile(paths.config, "{ maxPendingViolations: 1 }");
    const pending = ["a", "b", "c"].map((c, i) =>
      violationFinding({
        id: `00000000-0000-4000-8000-00000000000${i}`,
        at: 1_795_000_000_000 + i,
        protocol: "legacy",
        conversation: c,
        agent: "observer",
        role: "observer",
        expected: "secondary",
        sequence: ["primary", "secondary", "observer"],
      })
    );
    await saveSnapshot(paths.snapshot, { savedAt: 1, rules: [], pending: () => pending });
    const d = start(dir.path, gw.url);
    await waitFor(
      "the first pending violation written",
      async () => (await ledgerLines(paths.ledger)).length >= 1,
      15_000,
    );
    await waitFor("the gateway connection", () => gw.subscribers.size > 0, 15_000);
    assertEquals(await d.stop(), 0);
    const lines = await ledgerLines(paths.ledger);
    assertEquals(lines.map((l) => (l.violation as { conversation: string }).conversation), ["a"]);
    const status = parseStatus(await Deno.readTextFile(paths.status), paths.status);
    assertEquals(status.ledger.dropped, 2);
    assertEquals(status.state, "STOPPED");
    const msgs = d.msgs();
    assertEquals(msgs.filter((m) => m.startsWith("violation dropped")).length, 1);
    assertEquals(
      msgs.filter((m) => m === "1 more violations dropped: too many waiting to be written").length,
      1,
    );
    // The snapshot no longer lists them: a restart does not write or drop them again.
    const again = start(dir.path, gw.url);
    await waitFor("the restart's connection", () => gw.connections >= 2, 15_000);
    assertEquals(await again.stop(), 0);
    assertEquals((await ledgerLines(paths.ledger)).length, 1);
  } finally {
    await gw.stop();
  }
});

Deno.test("a second daemon on one state directory says which process holds it and stops", async () => {
  await using dir = await tempDir();
  const gw = new LegacyGateway().start();
  try {
    const first = start(dir.path, gw.url);
    await waitFor("the first daemon's connection", () => gw.subscribers.size > 0, 15_000);
    const second = start(dir.path, gw.url);
    assertEquals(await second.done, 0);
    const error = second.lines.map((l) => JSON.parse(l)).find((l) => l.level === "error");
    assert(error !== undefined, second.lines.join("\n"));
    assertStringIncludes(error.msg, `another coordinator (process ${Deno.pid}`);
    assertStringIncludes(error.msg, "restarting will not help");
    // Only the first judges: one frame out of turn, one line.
    gw.send(JSON.stringify({ type: "session_update", session_id: "g", agent: "observer" }));
    const paths = resolvePaths(dir.path);
    await waitFor(
      "the violation",
      async () => (await ledgerLines(paths.ledger)).length >= 1,
      15_000,
    );
    assertEquals(await first.stop(), 0);
    assertEquals((await ledgerLines(paths.ledger)).length, 1);
    assertEquals(gw.connections, 1);
  } finally {
    await gw.stop();
  }
});
