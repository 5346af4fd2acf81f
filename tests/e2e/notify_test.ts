/**
 * Notices to the operator against a real OpenClaw gateway: a stand-in for the human's screen
 * (an operator client with only operator.read and operator.questions, as the Control UI's
 * question page has) or device (a paired node offering system.notify) receives one notice
 * naming the conversation and the rule, and a burst of violations in one conversation gives
 * one notice.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { type Driver, OpenClawGateway } from "../support/openclaw_gateway.ts";
import { NodeClient } from "../support/node_client.ts";
import { Daemon, ledgerLines, sandboxFlags, statusOf, waitFor } from "../support/helpers.ts";
import { QuestionWatcher } from "../support/question_watcher.ts";

async function writeConfig(stateDir: string, notify: string): Promise<void> {
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  // Only the sequence rule: this file is about notices, not about which rule finds what.
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    `{ rules: { audit: false, drift: false, governance_drift: false }, notify: ${notify} }`,
  );
}

const notices = async (stateDir: string) => (await statusOf(stateDir))?.notify;

Deno.test("notices to the operator against a real OpenClaw gateway", async (t) => {
  const gw = await OpenClawGateway.start();
  const stateDir = join(gw.home, ".openclaw");
  const driver: Driver = await gw.driver();
  const human = await QuestionWatcher.connect(gw);
  let daemon: Daemon | undefined;
  const start = () =>
    new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
  try {
    await t.step(
      "question: one notice per violation, naming the conversation and rule",
      async () => {
        await writeConfig(stateDir, '{ channel: "question", intervalSeconds: 3600 }');
        daemon = start();
        await waitFor(
          "CONNECTED",
          async () => (await statusOf(stateDir))?.state === "CONNECTED",
          60_000,
        );
        await driver.say("primary", "notice-1");
        await driver.say("observer", "notice-1", "an answer the human must not get in a notice");
        await human.until(1);
        const [q] = human.questions;
        assertStringIncludes(q!.text, "conversation notice-1");
        assertStringIncludes(q!.text, "rule sequence");
        assertStringIncludes(q!.text, "observer responded, expected secondary");
        const [line] = await ledgerLines(stateDir);
        assertStringIncludes(q!.text, `ledger entry ${(line!.violation as { id: string }).id}`);
        assert(!q!.text.includes("must not get"), q!.text);
        assertEquals(q!.header, "MO§ES");
        await waitFor(
          "the notice counted",
          async () => (await notices(stateDir))?.sent === 1,
          60_000,
        );
      },
    );

    await t.step(
      "question: a burst of violations in one conversation gives one notice",
      async () => {
        // Three out-of-turn answers in a fresh conversation: three violations, one notice.
        await driver.say("observer", "burst-1");
        await driver.say("observer", "burst-1");
        await driver.say("secondary", "burst-1");
        await waitFor(
          "three more ledger lines",
          async () => (await ledgerLines(stateDir)).length === 4,
          60_000,
        );
        // Every finding is accounted for in status: one more sent, the other two held back.
        await waitFor("the burst accounted for", async () => {
          const n = await notices(stateDir);
          return n !== undefined && n.sent + n.suppressed + n.failed === 4;
        }, 60_000);
        const n = (await notices(stateDir))!;
        assertEquals([n.sent, n.suppressed, n.failed], [2, 2, 0]);
        await human.until(2);
        assertEquals(human.questions.length, 2);
        assertStringIncludes(human.questions[1]!.text, "conversation burst-1");
        const s = (await statusOf(stateDir))!;
        assertEquals(s.notify?.channel, "question");
        const stopped = await daemon!.stop();
        assertEquals(stopped.code, 0, daemon!.stderr);
        assertStringIncludes(daemon!.stderr, "notice sent to the operator");
        assert(!daemon!.stderr.includes("must not get"));
      },
    );

    await t.step("node: a paired device offering system.notify gets the notice", async () => {
      let requestId: string | undefined;
      const paired = new Promise<void>((resolve) => {
        driver.conn.onEvent = (f) => {
          if (f.event !== "node.pair.requested") return;
          requestId = (f.payload as { requestId: string }).requestId;
          resolve();
        };
      });
      const device = await NodeClient.connect({
        url: gw.url,
        token: gw.token,
        commands: ["system.notify"],
      });
      try {
        // The human approves the device's commands once, as when pairing a phone.
        await paired;
        await driver.conn.request("node.pair.approve", { requestId });
        await writeConfig(stateDir, '{ channel: "node", intervalSeconds: 3600 }');
        daemon = start();
        await waitFor(
          "CONNECTED",
          async () => (await statusOf(stateDir))?.state === "CONNECTED",
          60_000,
        );
        await driver.say("primary", "notice-node");
        await driver.say("observer", "notice-node");
        await driver.say("observer", "notice-node");
        await device.until((i) => i.length >= 1).catch(async (err) => {
          throw new Error(
            `${err.message}; notices: ${JSON.stringify(await notices(stateDir))}; ${
              daemon!.stderr
            }`,
          );
        });
        const [invoke] = device.invokes;
        assertEquals(invoke!.command, "system.notify");
        const p = invoke!.params as { title: string; body: string };
        assertEquals(p.title, "MO§ES: sequence violation");
        assertStringIncludes(p.body, "conversation notice-node");
        assertStringIncludes(p.body, "rule sequence");
        await waitFor("both violations accounted for", async () => {
          const n = await notices(stateDir);
          return n !== undefined && n.sent === 1 && n.suppressed === 1;
        }, 60_000);
        assertEquals(device.invokes.length, 1);
      } finally {
        device.close();
      }
    });
  } finally {
    await daemon?.stop();
    human.close();
    driver.close();
    await gw.stop();
  }
});
