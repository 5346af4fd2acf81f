/**
 * The tool-call rules against a real OpenClaw gateway running real agent runs: the scripted
 * model (tests/support/model_server.ts) makes each run call one tool, the gateway runs it,
 * and the coordinator (its own process, under its permission flags) judges the call.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { join } from "node:path";
import { type Driver, OpenClawGateway } from "../support/openclaw_gateway.ts";
import { ModelServer } from "../support/model_server.ts";
import {
  Daemon,
  ledgerLines,
  ledgerPath,
  python,
  sandboxFlags,
  statusOf,
  waitFor,
} from "../support/helpers.ts";
import type { StatusReport } from "../../lib/service/status.ts";

type Line = Record<string, unknown>;

function toolLines(lines: Line[], action?: string): Line[] {
  return lines.filter((l) => l.tool_call !== undefined && (!action || l.action === action));
}

function callOf(line: Line): Record<string, unknown> {
  return line.tool_call as Record<string, unknown>;
}

Deno.test("tool calls against a real OpenClaw gateway with a scripted model", async (t) => {
  const model = ModelServer.start();
  const gw = await OpenClawGateway.start({ model });
  const stateDir = join(gw.home, ".openclaw");
  const secret = `SECRET-ARGUMENT-${crypto.randomUUID()}`;
  const driver: Driver = await gw.driver();
  const setGovernance = async (g: { mode: string; posture: string }) => {
    await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
    await Deno.writeTextFile(
      join(stateDir, "governance/state.json"),
      JSON.stringify({ ...g, role: "primary", vault: [] }),
    );
  };
  const status = async (): Promise<StatusReport> => (await statusOf(stateDir))!;
  // Waits until the daemon has judged `n` tool calls in all (the rules count each one).
  const judged = async (n: number) => {
    await waitFor(`${n} tool calls judged`, async () => {
      const s = await statusOf(stateDir);
      return (s?.rules?.posture?.evaluated ?? 0) >= n;
    }, 60_000);
    return (await status()).rules!;
  };
  const governanceInForce = (g: { mode: string; posture: string }) =>
    waitFor(`governance ${JSON.stringify(g)} in force`, async () => {
      const s = await statusOf(stateDir);
      return s?.governance?.posture === g.posture && s?.governance?.mode === g.mode;
    }, 20_000);
  const start = () =>
    new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });

  await setGovernance({ mode: "high-integrity", posture: "scout" });
  // This file is about the tool-call rules: the audit, governance-change and governance-drift
  // rules, which would add their own lines for every run and change here, have their own tests.
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    "{ rules: { audit: false, governance: false, governance_drift: false } }",
  );
  let daemon = start();
  const logs: string[] = [];
  try {
    await waitFor(
      "CONNECTED",
      async () => (await statusOf(stateDir))?.state === "CONNECTED",
      30_000,
    );

    await t.step(
      "scout: a primary's write is one posture_violation naming write, executed",
      async () => {
        await driver.run(
          "primary",
          "scout-1",
          `CALL write {"path":"hello.txt","content":"${secret}"}`,
        );
        await waitFor(
          "the finding",
          async () => toolLines(await ledgerLines(stateDir)).length === 1,
          30_000,
        );
        const [line] = toolLines(await ledgerLines(stateDir));
        assertEquals(line!.action, "posture_violation");
        assertEquals(line!.agent, "coordinator");
        assertEquals(line!.posture, "scout");
        const c = callOf(line!);
        assertEquals(
          [c.tool, c.class, c.status, c.result, c.summary, c.agent, c.conversation, c.via],
          ["write", "write", "executed", "executed", "hello.txt", "primary", "scout-1", null],
        );
        assertEquals((c.args_sha256 as string).length, 64);
        // The file was written: the call really ran.
        await Deno.stat(join(stateDir, "workspace-primary", "hello.txt"));
        assertEquals((await python(["verify", ledgerPath(stateDir)])).stdout.trim(), "OK 1");
      },
    );

    await t.step("scout: read and `exec ls -la` are judged and allowed", async () => {
      const before = (await judged(1)).posture!.findings;
      await driver.run("primary", "scout-2", 'CALL read {"path":"hello.txt"}');
      await driver.run("primary", "scout-2", 'CALL exec {"command":"ls -la"}');
      const rules = await judged(3);
      assertEquals(rules.posture!.findings, before);
      assertEquals(toolLines(await ledgerLines(stateDir)).length, 1);
    });

    await t.step("a Tool Search call is judged by the inner tool it runs, once", async () => {
      await driver.run(
        "primary",
        "scout-3",
        `CALL tool_call {"id":"write","args":{"path":"nested.txt","content":"${secret}"}}`,
      );
      const rules = await judged(4);
      assertEquals(rules.posture!.evaluated, 4); // the outer tool_call is not judged again
      await waitFor(
        "the nested finding",
        async () => toolLines(await ledgerLines(stateDir)).length === 2,
      );
      const c = callOf(toolLines(await ledgerLines(stateDir))[1]!);
      assertEquals([c.tool, c.via, c.class, c.summary], [
        "write",
        "tool_call",
        "write",
        "nested.txt",
      ]);
    });

    await t.step("a session in permission mode read-only: the write is attempted", async () => {
      await driver.permissionMode("primary", "scout-ro", "read-only");
      await driver.run("primary", "scout-ro", `CALL write {"path":"ro.txt","content":"${secret}"}`);
      await waitFor(
        "the finding",
        async () => toolLines(await ledgerLines(stateDir)).length === 3,
        30_000,
      );
      const c = callOf(toolLines(await ledgerLines(stateDir))[2]!);
      assertEquals([c.tool, c.status, c.result], ["write", "attempted", "not_found"]);
      await assertRejects(Deno.stat(join(stateDir, "workspace-primary", "ro.txt")));
    });

    await t.step("high-security: web_fetch (through Tool Search) is a mode_violation", async () => {
      await setGovernance({ mode: "high-security", posture: "offense" });
      await governanceInForce({ mode: "high-security", posture: "offense" });
      await driver.run(
        "primary",
        "secure-1",
        'CALL tool_call {"id":"web_fetch","args":{"url":"http://127.0.0.1:9/private"}}',
      );
      await waitFor(
        "the finding",
        async () => toolLines(await ledgerLines(stateDir), "mode_violation").length === 1,
        30_000,
      );
      const line = toolLines(await ledgerLines(stateDir), "mode_violation")[0]!;
      const c = callOf(line);
      assertEquals([c.tool, c.class, c.confirmation, c.summary], [
        "web_fetch",
        "external",
        "unconfirmed",
        "127.0.0.1:9",
      ]);
      assertEquals(line.mode, "high-security");
      assertEquals(toolLines(await ledgerLines(stateDir), "posture_violation").length, 3);
    });

    await t.step(
      "offense: an observer's `exec rm` is a role_violation and nothing else",
      async () => {
        await setGovernance({ mode: "high-integrity", posture: "offense" });
        await governanceInForce({ mode: "high-integrity", posture: "offense" });
        const before = toolLines(await ledgerLines(stateDir)).length;
        await driver.run("observer", "offense-1", 'CALL exec {"command":"rm -f nothing.txt"}');
        await waitFor(
          "the finding",
          async () => toolLines(await ledgerLines(stateDir)).length === before + 1,
          30_000,
        );
        const line = toolLines(await ledgerLines(stateDir)).at(-1)!;
        assertEquals(line.action, "role_violation");
        const c = callOf(line);
        assertEquals([c.agent, c.tool, c.class, c.summary], [
          "observer",
          "exec",
          "destructive",
          "rm",
        ]);
      },
    );

    await t.step(
      "defense: an exec a person approved in a guarded session is confirmed; an unconfirmed or denied rm is a posture_violation",
      async () => {
        await setGovernance({ mode: "high-integrity", posture: "defense" });
        await governanceInForce({ mode: "high-integrity", posture: "defense" });
        const approver = await gw.driver({
          scopes: ["operator.approvals"],
          caps: ["exec-approvals"],
        });
        try {
          const before = (await status()).rules!.posture!;
          const lines = toolLines(await ledgerLines(stateDir)).length;
          await approver.permissionMode("primary", "guarded-1", "guarded");
          approver.answerExecApprovals("allow-once");
          await approver.run("primary", "guarded-1", 'CALL exec {"command":"rm -f gone.txt"}');
          const after = await judged(before.evaluated + 1);
          assertEquals(after.posture!.findings, before.findings);
          // Denied by the person: attempted, unconfirmed.
          approver.answerExecApprovals("deny");
          await approver.run("primary", "guarded-1", 'CALL exec {"command":"rm -f gone.txt"}');
          // No guard at all: unconfirmed.
          await approver.run("primary", "plain-1", 'CALL exec {"command":"rm -f gone.txt"}');
          await waitFor(
            "two findings",
            async () => toolLines(await ledgerLines(stateDir)).length === lines + 2,
            30_000,
          );
          const [denied, plain] = toolLines(await ledgerLines(stateDir)).slice(-2).map(callOf);
          assertEquals(
            [denied!.conversation, denied!.status, denied!.result, denied!.confirmation],
            ["guarded-1", "attempted", "blocked", "unconfirmed"],
          );
          assertEquals(
            [plain!.conversation, plain!.class, plain!.status, plain!.confirmation],
            ["plain-1", "destructive", "executed", "unconfirmed"],
          );
        } finally {
          approver.close();
        }
      },
    );

    await t.step(
      "a violating call made while the coordinator is stopped is found after restart, once",
      async () => {
        await setGovernance({ mode: "high-integrity", posture: "scout" });
        await governanceInForce({ mode: "high-integrity", posture: "scout" });
        const judgedBefore = (await status()).rules!.posture!.evaluated;
        assertEquals((await daemon.stop()).code, 0);
        logs.push(daemon.stderr);
        await driver.run(
          "secondary",
          "while-down",
          `CALL write {"path":"down.txt","content":"${secret}"}`,
        );
        daemon = start();
        await waitFor(
          "the caught-up finding",
          async () =>
            toolLines(await ledgerLines(stateDir)).some((l) =>
              callOf(l).conversation === "while-down"
            ),
          60_000,
        );
        // A second restart catches up again: the call is not written twice.
        await waitFor(
          "a completed catch-up",
          async () => ((await statusOf(stateDir))?.openclaw?.reconciles ?? 0) >= 1,
        );
        assertEquals((await daemon.stop()).code, 0);
        logs.push(daemon.stderr);
        daemon = start();
        await waitFor("a completed catch-up", async () => {
          const s = await statusOf(stateDir);
          return s?.state === "CONNECTED" && (s.openclaw?.reconciles ?? 0) >= 1 &&
            s.pid === daemon.child.pid;
        }, 30_000);
        const down = toolLines(await ledgerLines(stateDir)).filter((l) =>
          callOf(l).conversation === "while-down"
        );
        assertEquals(down.length, 1);
        assertEquals([callOf(down[0]!).tool, down[0]!.action], ["write", "posture_violation"]);
        assert(judgedBefore >= 6);
      },
    );

    await t.step("the arguments appear in no ledger line and no log line", async () => {
      await daemon.stop();
      logs.push(daemon.stderr);
      const ledger = await Deno.readTextFile(ledgerPath(stateDir));
      assert(!ledger.includes(secret), "the ledger holds an argument");
      assert(!logs.join("\n").includes(secret), "the log holds an argument");
      assert(!ledger.includes("private"), "the ledger holds a URL's path");
      assertEquals((await python(["verify", ledgerPath(stateDir)])).code, 0);
    });
  } finally {
    await daemon.stop();
    driver.close();
    await gw.stop();
    await model.stop();
  }
});

async function assertRejects(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    return;
  }
  throw new Error("Expected a rejection");
}
