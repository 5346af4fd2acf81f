/**
 * `enforce: prevent` against a real OpenClaw gateway running real agent runs (the scripted
 * model): under scout the gateway itself refuses a primary's write, the ledger says
 * `blocked_and_logged`; the modes come back when scout ends, after a crash too; an observer's
 * sessions are read-only always; `enforce: off` gives back what was locked.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { type Driver, OpenClawGateway } from "../support/openclaw_gateway.ts";
import { ModelServer } from "../support/model_server.ts";
import {
  Daemon,
  ledgerLines,
  runCli,
  sandboxFlags,
  statusOf,
  waitFor,
} from "../support/helpers.ts";

const PRIMARY = "agent:primary:p1";
const OBSERVER = "agent:observer:o1";

Deno.test("enforce prevent: scout makes governed sessions read-only, and they are given back", async (t) => {
  const model = ModelServer.start();
  const gw = await OpenClawGateway.start({ model });
  const stateDir = join(gw.home, ".openclaw");
  const workspace = join(stateDir, "workspace-primary");
  const driver: Driver = await gw.driver();
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  const config = (enforce: string) =>
    Deno.writeTextFile(
      join(stateDir, "governance/coordinator.jsonc"),
      `{ enforce: "${enforce}", rules: { audit: false, governance: false } }`,
    );
  // Returns when state.json is written (the figure's start).
  const posture = async (p: string) => {
    await Deno.writeTextFile(
      join(stateDir, "governance/state.json"),
      JSON.stringify({ mode: "high-integrity", posture: p, role: "primary", vault: [] }),
    );
    return performance.now();
  };
  const modes = async (): Promise<Record<string, string | null>> => {
    const r = await driver.conn.request<{ sessions: Record<string, unknown>[] }>(
      "sessions.list",
      {},
    );
    return Object.fromEntries(
      r.sessions.map((s) => [s.key as string, (s.permissionMode as string | undefined) ?? null]),
    );
  };
  const modesAre = (want: Record<string, string | null>, what: string) =>
    waitFor(what, async () => {
      const now = await modes();
      return Object.entries(want).every(([k, m]) => now[k] === m);
    }, 60_000);
  // A run and its end; the wait is long enough for a loaded machine (the driver's waits 30 s).
  const run = async (agent: string, rest: string, message: string) => {
    const sessionKey = await driver.session(agent, rest);
    const runId = crypto.randomUUID();
    await driver.conn.request("chat.send", { sessionKey, message, idempotencyKey: runId });
    const end = await driver.conn.request<{ status?: string }>("agent.wait", {
      runId,
      timeoutMs: 120_000,
    }, 130_000);
    assertEquals(end.status, "ok", JSON.stringify(end));
  };
  const figures: string[] = [];
  const start = () =>
    new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });

  await config("prevent");
  await posture("offense");
  await driver.session("primary", "p1");
  await driver.session("observer", "o1");
  let daemon = start();
  try {
    await t.step(
      "offense: an observer's session is read-only, the primary's untouched",
      async () => {
        await modesAre({ [OBSERVER]: "read-only", [PRIMARY]: null }, "the observer locked");
        const s = (await statusOf(stateDir))!;
        assertEquals(s.enforcement.inForce, ["enforce prevent"]);
      },
    );

    await t.step(
      "scout: the primary's write is refused by the gateway, blocked_and_logged",
      async () => {
        const t0 = await posture("scout");
        await modesAre({ [PRIMARY]: "read-only" }, "the primary locked");
        figures.push(`scout -> locked ${Math.round(performance.now() - t0)} ms`);
        await run("primary", "p1", 'CALL write {"path":"blocked.txt","content":"no"}');
        await waitFor(
          "the finding",
          async () => (await ledgerLines(stateDir)).some((l) => l.tool_call !== undefined),
          60_000,
        );
        const line = (await ledgerLines(stateDir)).find((l) => l.tool_call !== undefined)!;
        const c = line.tool_call as Record<string, unknown>;
        assertEquals(
          [line.action, line.outcome, c.tool, c.status, c.result],
          ["posture_violation", "blocked_and_logged", "write", "attempted", "not_found"],
        );
        assert(!(await exists(join(workspace, "blocked.txt"))), "the file was written");
      },
    );

    await t.step("offense again: the modes are given back, the next write succeeds", async () => {
      const t0 = await posture("offense");
      await modesAre({ [PRIMARY]: null, [OBSERVER]: "read-only" }, "the primary given back");
      figures.push(`offense -> given back ${Math.round(performance.now() - t0)} ms`);
      await run("primary", "p1", 'CALL write {"path":"allowed.txt","content":"yes"}');
      assert(await exists(join(workspace, "allowed.txt")), "the write did not run");
    });

    await t.step(
      "killed under scout, posture changed while down: given back at restart",
      async () => {
        await posture("scout");
        await modesAre({ [PRIMARY]: "read-only" }, "the primary locked");
        await daemon.stop("SIGKILL");
        await posture("offense");
        daemon = start();
        await modesAre({ [PRIMARY]: null, [OBSERVER]: "read-only" }, "the primary given back");
      },
    );

    await t.step(
      "release, with the daemon stopped: every session given back, the record cleared",
      async () => {
        await posture("scout");
        await modesAre({ [PRIMARY]: "read-only", [OBSERVER]: "read-only" }, "both locked");
        assertEquals((await daemon.stop()).code, 0);
        const flags = sandboxFlags(gw.port);
        const r = await runCli(["release", "--gateway", gw.url], { cwd: stateDir, flags });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "every session given back");
        assertEquals(await modes().then((m) => [m[PRIMARY], m[OBSERVER]]), [null, null]);
        const again = await runCli(["release", "--gateway", gw.url], { cwd: stateDir, flags });
        assertEquals(again.code, 0, again.stderr);
        assertStringIncludes(again.stderr, "no session to give back");
      },
    );

    await t.step("enforce off at start: everything recorded is given back", async () => {
      await posture("offense");
      daemon = start();
      await modesAre({ [OBSERVER]: "read-only" }, "the observer locked");
      assertEquals((await daemon.stop()).code, 0);
      await config("off");
      daemon = start();
      await modesAre({ [PRIMARY]: null, [OBSERVER]: null }, "the observer given back");
    });
    console.log(`figures: ${figures.join("; ")}`);
  } finally {
    await daemon.stop();
    driver.close();
    await gw.stop();
    await model.stop();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
