/**
 * Commitment drift against a real OpenClaw gateway: the scripted model answers with given
 * text (`SAY …`), the coordinator scores each answer against the conversation's earlier ones,
 * and an answer far from them is one `commitment_drift` line, without the text.
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
import { resolvePaths } from "../../lib/util/paths.ts";

const FIRST = "The ledger audit verified every hash in the chain, and the writer appended " +
  "the entries under the lock as agreed.";
const AGAIN = "The audit verified the ledger chain hashes again; the writer appended its " +
  "entries under the lock.";

Deno.test("commitment drift against a real OpenClaw gateway with a scripted model", async () => {
  const model = ModelServer.start();
  const gw = await OpenClawGateway.start({ model });
  const stateDir = join(gw.home, ".openclaw");
  const secret = `SECRET-ANSWER-${crypto.randomUUID()}`;
  const far = `Transfer the wallet balance to the exchange, then buy tokens and wire the ` +
    `profits offshore ${secret}`;
  const driver: Driver = await gw.driver();
  // This file is about the drift rule: the audit rule (no agent logs here) and the
  // governance-drift rule (the test gateway's observer may write) have their own tests.
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    "{ rules: { audit: false, governance_drift: false } }",
  );
  const daemon = new Daemon(["--gateway", gw.url], {
    cwd: stateDir,
    flags: sandboxFlags(gw.port),
  });
  const drift = async () => (await statusOf(stateDir))?.rules?.drift?.stats ?? {};
  try {
    await waitFor("CONNECTED", async () => (await statusOf(stateDir))?.state === "CONNECTED");
    await driver.run("primary", "drift-1", `SAY ${FIRST}`);
    await waitFor("the baseline", async () => ((await drift()).baselines ?? 0) >= 1, 30_000);
    await driver.run("primary", "drift-1", `SAY ${AGAIN}`);
    await waitFor("the second answer scored", async () => ((await drift()).scored ?? 0) >= 1);
    assertEquals(await ledgerLines(stateDir), [], "a close answer is no finding");
    await driver.run("primary", "drift-1", `SAY ${far}`);
    await waitFor(
      "the drift line",
      async () => (await ledgerLines(stateDir)).length === 1,
      30_000,
    );
    const [line] = await ledgerLines(stateDir);
    assertEquals([line!.action, line!.agent, line!.outcome], [
      "commitment_drift",
      "coordinator",
      "logged",
    ]);
    const d = line!.drift as Record<string, unknown>;
    assertEquals([d.conversation, d.agent, d.level, d.scorer, d.threshold, d.history_turns], [
      "drift-1",
      "primary",
      "red",
      "tfidf",
      "red",
      2,
    ]);
    assert((d.score as number) >= 40, `score ${d.score}`);
    assertEquals((d.text_sha256 as string).length, 64);
    // Status is written every few seconds: wait for the one that counts the third answer.
    await waitFor("status to count the red answer", async () => ((await drift()).red ?? 0) >= 1);
    const stats = await drift();
    assertEquals([stats.scored, stats.red, stats.baselines], [2, 1, 1]);
    assertEquals((await python(["verify", ledgerPath(stateDir)])).stdout.trim(), "OK 1");
    await daemon.stop();
    const ledger = await Deno.readTextFile(ledgerPath(stateDir));
    const status = JSON.stringify(await statusOf(stateDir));
    // The daemon saved its snapshot on the way out: the rule's history is not in it.
    const snapshot = await Deno.readTextFile(resolvePaths(stateDir).snapshot);
    for (
      const [where, text] of [
        ["ledger", ledger],
        ["log", daemon.stderr],
        ["status", status],
        ["snapshot", snapshot],
      ]
    ) {
      assert(!text!.includes(secret), `the ${where} holds the answer's text`);
      assert(!text!.includes("wallet"), `the ${where} holds the answer's words`);
    }
  } finally {
    await daemon.stop();
    driver.close();
    await gw.stop();
    await model.stop();
  }
});
