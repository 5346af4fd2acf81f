/**
 * Audit before response against a real OpenClaw gateway with the scripted model: each run of a
 * governed agent must have the agent's own ledger entry, appended by the real Python writer
 * under the ledger's lock, between the run's start and its answer.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { OpenClawGateway } from "../support/openclaw_gateway.ts";
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

type Line = Record<string, unknown>;

Deno.test("audit before response against a real OpenClaw gateway", async (t) => {
  const model = ModelServer.start();
  const gw = await OpenClawGateway.start({ model });
  const stateDir = join(gw.home, ".openclaw");
  const ledger = ledgerPath(stateDir);
  const driver = await gw.driver();
  // The scripted model answers slowly (about 3 s) so that the test can act inside the run,
  // with room to spare on a busy machine.
  const runWhile = async (agent: string, rest: string, during?: () => Promise<unknown>) => {
    const asked = model.requests;
    const run = driver.run(agent, rest, "SLOW 12");
    if (during) {
      await waitFor("the model to be asked", () => model.requests > asked, 60_000);
      await during();
    }
    return await run;
  };
  const missing = async () =>
    (await ledgerLines(stateDir)).filter((l) => l.action === "audit_missing");
  const auditOf = (l: Line) => l.audit as Record<string, string>;
  const judged = async (n: number) => {
    await waitFor(`${n} runs judged`, async () => {
      const a = (await statusOf(stateDir))?.rules?.audit?.stats;
      return a !== undefined && (a.judged ?? 0) >= n && a.waiting === 0;
    }, 30_000);
  };
  await Deno.mkdir(join(stateDir, "audits/moses"), { recursive: true });
  // state.json exists from the start, so it is watched (a missing one is looked for every 5 s).
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  await Deno.writeTextFile(
    join(stateDir, "governance/state.json"),
    '{"mode": "high-integrity", "posture": "defense"}',
  );
  // The governance-drift rule has its own test (its config.get at connect slows the first run).
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    "{ rules: { governance_drift: false } }",
  );
  const start = () =>
    new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
  let daemon = start();
  try {
    await waitFor(
      "CONNECTED",
      async () => (await statusOf(stateDir))?.state === "CONNECTED",
      30_000,
    );

    await t.step(
      "a run whose agent logs its own entry first leaves nothing to record",
      async () => {
        await runWhile(
          "primary",
          "a1",
          () =>
            python(["log", ledger, "--agent", "primary", "--action", "answer", "--detail", "x"]),
        );
        await judged(1);
        const a = (await statusOf(stateDir))!.rules!.audit!.stats;
        assertEquals(a.audited, 1);
        assertEquals(await missing(), []);
      },
    );

    await t.step(
      "a run without the agent's entry is one audit_missing naming run, agent and conversation",
      async () => {
        const runId = await runWhile("primary", "a2");
        await waitFor("the finding", async () => (await missing()).length === 1, 30_000);
        const [line] = await missing();
        assertEquals([auditOf(line!).run, auditOf(line!).agent, auditOf(line!).conversation], [
          runId,
          "primary",
          "a2",
        ]);
        assertStringIncludes(line!.detail as string, "with no ledger entry of its own");
        assertEquals((await python(["verify", ledger])).code, 0);
      },
    );

    await t.step("another agent's entry does not count", async () => {
      const runId = await runWhile(
        "primary",
        "a3",
        () =>
          python(["log", ledger, "--agent", "secondary", "--action", "answer", "--detail", "x"]),
      );
      await waitFor("the finding", async () => (await missing()).length === 2, 30_000);
      assertEquals(auditOf((await missing())[1]!).run, runId);
    });

    await t.step(
      "a posture change during a run is a governance_change and a posture_drift naming the run",
      async () => {
        await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
        const state = join(stateDir, "governance/state.json");
        const runId = await runWhile("primary", "d1", async () => {
          await Deno.writeTextFile(state, '{"mode": "high-integrity", "posture": "scout"}');
          await waitFor(
            "the drift",
            async () => (await ledgerLines(stateDir)).some((l) => l.action === "posture_drift"),
            30_000,
          );
        });
        const lines = await ledgerLines(stateDir);
        const change = lines.find((l) => l.action === "governance_change")!;
        const drift = lines.find((l) => l.action === "posture_drift")!;
        const d = drift.governance_change as Record<string, unknown>;
        assertEquals([d.run, d.agent, d.conversation], [runId, "primary", "d1"]);
        assertEquals((change.governance_change as { to: { posture: string } }).to.posture, "scout");
        assertEquals(drift.posture, "scout");
      },
    );

    await t.step(
      "a run missed while the coordinator was down is judged after the catch-up, once",
      async () => {
        assertEquals((await daemon.stop()).code, 0);
        const runId = await runWhile("secondary", "a4");
        daemon = start();
        await waitFor(
          "the finding",
          async () => (await missing()).some((l) => auditOf(l).run === runId),
          60_000,
        );
        // Restarted again: the catch-up sees the run again, and writes nothing new.
        assertEquals((await daemon.stop()).code, 0);
        daemon = start();
        await waitFor("caught up", async () => {
          const s = await statusOf(stateDir);
          return s?.pid === daemon.child.pid && s.state === "CONNECTED" &&
            (s.openclaw?.reconciles ?? 0) >= 1 && s.rules?.audit?.stats.waiting === 0;
        }, 30_000);
        assertEquals(
          (await missing()).filter((l) => auditOf(l).run === runId).length,
          1,
        );
      },
    );
  } finally {
    await daemon.stop();
    driver.close();
    await gw.stop();
    await model.stop();
  }
});
