/**
 * Governance drift against a real OpenClaw gateway: posture scout while the gateway's tool
 * policy (read with config.get over the coordinator's read-only connection) still lets its
 * agents write and run commands.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { OpenClawGateway } from "../support/openclaw_gateway.ts";
import {
  Daemon,
  ledgerLines,
  python,
  sandboxFlags,
  statusOf,
  waitFor,
} from "../support/helpers.ts";
import { ledgerPath } from "../support/helpers.ts";

// Every tool the coordinator counts as mutating, denied (names, an alias and a group).
const DENY_MUTATING = [
  "write",
  "edit",
  "apply_patch",
  "group:runtime",
  "sessions_spawn",
  "sessions_send",
  "conversations_send",
  "conversations_turn",
  "create_goal",
  "update_goal",
  "message",
  "gateway",
  "nodes",
  "cron",
  "canvas",
];

Deno.test("governance_drift against a real OpenClaw gateway", async (t) => {
  const gw = await OpenClawGateway.start();
  const stateDir = join(gw.home, ".openclaw");
  const driver = await gw.driver();
  await Deno.mkdir(join(stateDir, "audits/moses"), { recursive: true });
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  await Deno.writeTextFile(
    join(stateDir, "governance/state.json"),
    '{"mode": "high-integrity", "posture": "scout"}',
  );
  // Only the rule under test: nothing else can write to the ledger.
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    JSON.stringify({
      rules: {
        sequence: false,
        posture: false,
        role: false,
        mode: false,
        audit: false,
        governance: false,
        drift: false,
      },
    }),
  );
  const drifts = async () =>
    (await ledgerLines(stateDir)).filter((l) => l.action === "governance_drift");
  const start = () =>
    new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
  // This process's status once it has judged at least `reads` policy reads.
  const judged = async (daemon: Daemon, reads: number) => {
    let report: Awaited<ReturnType<typeof statusOf>>;
    await waitFor(`${reads} policy reads judged`, async () => {
      report = await statusOf(stateDir);
      const stats = report?.rules?.governance_drift?.stats;
      return report?.pid === daemon.child.pid && (stats?.policyReads ?? 0) >= reads;
    }, 60_000);
    return report!;
  };
  let daemon = start();
  try {
    await t.step(
      "posture scout with the default policy: one governance_drift naming the agents",
      async () => {
        await waitFor("the finding", async () => (await drifts()).length === 1, 60_000);
        const [line] = await drifts();
        const rec = line!.governance_drift as {
          mismatches: { agent: string; because: string; allowed: string[] }[];
          policyHash: string;
          policy: unknown;
        };
        assertEquals(rec.mismatches.map((m) => `${m.agent}: ${m.because}`), [
          "observer: posture scout",
          "observer: role observer",
          "primary: posture scout",
          "secondary: posture scout",
        ]);
        for (const m of rec.mismatches) {
          assert(m.allowed.includes("write") && m.allowed.includes("exec"));
        }
        assertStringIncludes(line!.detail as string, "primary (posture scout) may use write, edit");
        assertEquals(line!.posture, "scout");
        // Tool-policy facts only: the gateway token (redacted or not) is nowhere in the ledger.
        assertEquals(JSON.stringify(await ledgerLines(stateDir)).includes(gw.token), false);
        assertEquals(
          rec.policy,
          { global: {}, agents: { observer: {}, primary: {}, secondary: {} } },
        );
        const s = await judged(daemon, 1);
        assertEquals(s.toolPolicy?.state, "read");
        assertEquals(s.toolPolicy?.mismatches.length, 4);
        assertEquals(s.counters.byKind?.governance_drift, 1);
        assertEquals((await python(["verify", ledgerPath(stateDir)])).code, 0);
      },
    );

    await t.step("a restart reads the same mismatch again and records nothing", async () => {
      assertEquals((await daemon.stop()).code, 0);
      daemon = start();
      const s = await judged(daemon, 1);
      // Judged in this process without a finding: the mismatch was already recorded.
      assertEquals(s.counters.byKind?.governance_drift, 0);
      assertEquals(s.toolPolicy?.mismatches.length, 4);
      assertEquals((await drifts()).length, 1);
    });

    await t.step(
      "a live config change that denies the mutating tools: no finding, no mismatch",
      async () => {
        const cfg = await driver.conn.request<{ hash: string }>("config.get", {});
        await driver.conn.request("config.patch", {
          raw: JSON.stringify({ tools: { deny: DENY_MUTATING } }),
          baseHash: cfg.hash,
        });
        let s: Awaited<ReturnType<typeof statusOf>>;
        await waitFor("the change read", async () => {
          s = await statusOf(stateDir);
          return s?.pid === daemon.child.pid && s.toolPolicy?.state === "read" &&
            (s.rules?.governance_drift?.stats.policyReads ?? 0) >= 2;
        }, 60_000);
        assertEquals(s!.toolPolicy?.mismatches, []);
        assertEquals(s!.counters.byKind?.governance_drift, 0);
        assertEquals((await drifts()).length, 1);
        const text = new TextDecoder().decode(
          (await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", join(Deno.cwd(), "main.ts"), "status"],
            cwd: stateDir,
            stdout: "piped",
            stderr: "piped",
          }).output()).stdout,
        );
        assertStringIncludes(text, "no mismatch with governance");
        assertStringIncludes(text, "governance_drift 0");
      },
    );
  } finally {
    await daemon.stop();
    driver.close();
    await gw.stop();
  }
});
