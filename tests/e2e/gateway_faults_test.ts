/**
 * Gateway faults against the real OpenClaw gateway, through a TCP proxy that refuses,
 * cuts a frame in half, goes silent, or passes frames on slowly. After each, the
 * coordinator recovers and the violation made during the fault is in the ledger, once.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { join } from "node:path";
import { type Driver, freePort, OpenClawGateway } from "../support/openclaw_gateway.ts";
import { TcpProxy } from "../support/tcp_proxy.ts";
import {
  conversations,
  Daemon,
  expectViolationLines,
  ledgerLines,
  ledgerPath,
  python,
  sandboxFlags,
  statusOf,
  waitFor,
} from "../support/helpers.ts";

Deno.test("gateway faults: refused, cut mid-frame, slow, silent; each recovered with no violation lost or doubled", async (t) => {
  const gw = await OpenClawGateway.start();
  const stateDir = join(gw.home, ".openclaw");
  const proxy = new TcpProxy(gw.port, freePort());
  proxy.listen();
  const driver: Driver = await gw.driver();
  // This file counts sequence violations: the test gateway's observer agent, which its tool
  // policy lets write, would add a governance_drift line.
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    "{ rules: { governance_drift: false } }",
  );
  const daemon = new Daemon(["--gateway", `ws://127.0.0.1:${proxy.port}`], {
    cwd: stateDir,
    flags: sandboxFlags(proxy.port),
  });
  const status = () => statusOf(stateDir);
  const connects = async () => (await status())?.gateway.connects ?? 0;
  const live = async () => {
    const s = await status();
    return s?.state === "CONNECTED" && !s.reasons.includes("catching up on missed messages");
  };
  /** Makes one violation in `conversation`: observer right after primary. */
  const violate = async (conversation: string) => {
    await driver.say("primary", conversation);
    await driver.say("observer", conversation);
  };
  const expectLines = async (expected: string[], timeoutMs = 20_000) => {
    const lines = await expectViolationLines(stateDir, expected, timeoutMs);
    // Expected secondary: the primary before each observer was seen too.
    for (const l of lines) {
      assertEquals((l.violation as { expected: string }).expected, "secondary");
    }
  };

  try {
    await waitFor("connected and live", live, 30_000);
    await violate("baseline");
    await expectLines(["baseline"]);

    await t.step(
      "connection refused: it keeps trying, and catches up once it gets in",
      async () => {
        const before = await connects();
        proxy.close(); // drops the connection and refuses new ones
        await waitFor("DISCONNECTED", async () => (await status())?.state === "DISCONNECTED");
        await violate("while-refused");
        const made = Date.now();
        // A status from after the violation: the daemon is still refused, and has not seen it.
        await waitFor("a refused attempt after the violation", async () => {
          const s = await status();
          return s !== undefined && Date.parse(s.updatedAt) > made &&
            s.state === "DISCONNECTED" && /cannot connect/.test(s.reasons[0] ?? "");
        });
        assertEquals((await status())!.counters.violations, 1);
        assertEquals(conversations(await ledgerLines(stateDir)), ["baseline"]);
        proxy.listen();
        await waitFor("a new connection", async () => (await connects()) > before, 40_000);
        await expectLines(["baseline", "while-refused"]);
      },
    );

    await t.step(
      "a connection cut in the middle of a frame: reconnected, caught up, once",
      async () => {
        const before = await connects();
        await waitFor("live", live, 30_000);
        proxy.cutNextChunk();
        await violate("cut-mid-frame");
        await waitFor("the cut", () => proxy.cuts === 1, 10_000);
        await waitFor("a new connection", async () => (await connects()) > before, 40_000);
        await expectLines(["baseline", "while-refused", "cut-mid-frame"]);
      },
    );

    await t.step(
      "a slow gateway (one chunk a second): every turn still counted, once",
      async () => {
        await waitFor("live", live, 30_000);
        proxy.mode = "slow";
        try {
          await violate("slow");
          await expectLines(["baseline", "while-refused", "cut-mid-frame", "slow"], 60_000);
        } finally {
          proxy.mode = "pass";
        }
      },
    );

    await t.step(
      "a silent gateway (no ticks): given up after two tick intervals, then caught up, once",
      async () => {
        await waitFor("live", live, 30_000);
        const before = await connects();
        proxy.mode = "silent";
        const silentSince = Date.now();
        await violate("while-silent");
        // Tick interval 30 s: the coordinator gives a silent link up after 60 s.
        await waitFor(
          "the silent link given up",
          async () => (await status())?.state === "DISCONNECTED" || (await connects()) > before,
          90_000,
        );
        // Counted from the last frame before the silence (a tick at most 30 s earlier).
        const gaveUpAfter = Date.now() - silentSince;
        assert(gaveUpAfter >= 28_000, `gave up after ${gaveUpAfter} ms: before a tick was missed`);
        await waitFor(
          "the reason in the log",
          () => daemon.stderr.includes("no frame from the gateway for 60 s"),
        ).catch((err) => {
          throw new Error(`${err.message}; the log ends:\n${daemon.stderr.slice(-2500)}`);
        });
        proxy.mode = "pass";
        await waitFor("a new connection", async () => (await connects()) > before, 40_000);
        await expectLines(["baseline", "while-refused", "cut-mid-frame", "slow", "while-silent"]);
      },
    );

    assertEquals(
      (await python(["verify", ledgerPath(stateDir)])).stdout.trim(),
      "OK 5",
    );
    assertEquals((await daemon.stop()).code, 0);
  } finally {
    driver.close();
    await daemon.stop("SIGKILL").catch(() => {});
    proxy.close();
    await gw.stop();
  }
});
