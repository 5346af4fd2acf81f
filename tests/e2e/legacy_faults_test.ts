/**
 * Gateway faults under the legacy protocol, against the scripted legacy gateway, through a
 * TCP proxy that refuses, cuts a frame in half, passes frames on slowly, or goes silent.
 * The legacy protocol has no catch-up and no heartbeat: what the gateway sends while the
 * coordinator is not connected (or in a frame that is cut) is gone. What must hold is that
 * the coordinator recovers, re-subscribes, and records every violation sent while it is
 * connected exactly once, and never records or counts a partial frame.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { freePort } from "../support/openclaw_gateway.ts";
import { LegacyGateway } from "../support/legacy_gateway.ts";
import { TcpProxy } from "../support/tcp_proxy.ts";
import {
  Daemon,
  expectViolationLines,
  ledgerPath,
  python,
  runCli,
  sandboxFlags,
  statusOf,
  tempDir,
  waitFor,
} from "../support/helpers.ts";

const update = LegacyGateway.update;

/** Polls `check` for `ms`; throws at the first poll where it does not hold. */
async function holdsFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms: number,
): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await check())) throw new Error(`${what} stopped holding`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("legacy gateway faults: refused, cut mid-frame, slow, silent; each recovered and every violation sent while connected is recorded once", async (t) => {
  await using dir = await tempDir();
  const gw = new LegacyGateway().start();
  const proxy = new TcpProxy(gw.port, freePort()); // not listening yet: connecting is refused
  const daemon = new Daemon(
    ["--gateway", `ws://127.0.0.1:${proxy.port}`, "--protocol", "legacy"],
    { cwd: dir.path, flags: sandboxFlags(proxy.port) },
  );
  const status = () => statusOf(dir.path);
  const connects = async () => (await status())?.gateway.connects ?? 0;
  const subscribes = () =>
    gw.received.filter((f) => {
      try {
        return JSON.parse(f).type === "subscribe";
      } catch {
        return false;
      }
    }).length;
  /** Makes one violation in `conversation`: observer right after primary. */
  const violate = (conversation: string) => {
    gw.send(update(conversation, "primary"));
    gw.send(update(conversation, "observer"));
  };
  const expectLines = async (expected: string[], timeoutMs = 20_000) => {
    const lines = await expectViolationLines(dir.path, expected, timeoutMs);
    // Expected secondary: the primary before each observer was seen too.
    for (const l of lines) {
      assertEquals((l.violation as { expected: string }).expected, "secondary");
      assertEquals((l.violation as { protocol: string }).protocol, "legacy");
    }
  };
  /** Waits for a status whose counters include `violations`, and returns it. */
  const statusAfter = async (violations: number) => {
    await waitFor(
      `status counting ${violations} violations written`,
      async () => {
        const s = await status();
        return s?.counters.violations === violations && s.ledger.written === violations;
      },
      10_000,
    );
    return (await status())!;
  };

  try {
    await t.step(
      "connection refused: DISCONNECTED with a reason, keeps trying, subscribes once it gets in",
      async () => {
        await waitFor(
          "DISCONNECTED after a refused attempt",
          async () => {
            const s = await status();
            return s?.state === "DISCONNECTED" && /cannot connect/.test(s.reasons[0] ?? "");
          },
          30_000,
        );
        const s = (await status())!;
        assert(/; retrying in \d+\.\d s$/.test(s.reasons[0]!), `reason: ${s.reasons[0]}`);
        assertEquals(s.gateway.connects, 0);
        assertEquals(s.gateway.protocol, "legacy");
        assertEquals(gw.connections, 0);

        proxy.listen();
        await waitFor("a connection", async () => (await connects()) === 1, 30_000);
        await waitFor("the subscription", () => gw.subscribers.size === 1, 10_000);
        assertEquals(JSON.parse(gw.received[0]!), {
          type: "subscribe",
          events: ["session_update"],
        });
        const up = (await status())!;
        assertEquals(up.state, "CONNECTED");
        assertEquals(up.reasons, []);
        assertEquals(up.gateway.disconnects, 0); // it was never connected before

        violate("after-refused");
        await expectLines(["after-refused"]);
      },
    );

    await t.step(
      "a connection cut in the middle of a frame: the partial frame is neither recorded nor counted; reconnected, re-subscribed, once",
      async () => {
        // The primary first, whole, so that the frame cut is the violating observer.
        gw.send(update("cut", "primary"));
        await waitFor("the primary counted", async () => (await status())?.counters.frames === 3);
        const before = (await status())!;
        assertEquals(before.gateway.connects, 1);
        assertEquals(subscribes(), 1);

        proxy.cutNextChunk();
        gw.send(update("cut", "observer"));
        await waitFor("the cut", () => proxy.cuts === 1, 10_000);
        await waitFor("a new connection", async () => (await connects()) === 2, 40_000);
        await waitFor("the new subscription", () => subscribes() === 2, 10_000);
        assertEquals(JSON.parse(gw.received.at(-1)!), {
          type: "subscribe",
          events: ["session_update"],
        });
        await waitFor(
          "the disconnect logged",
          () => /WARN {2}disconnected .*reason="connection closed/.test(daemon.stderr),
        );

        violate("after-cut");
        // The legacy protocol has no catch-up: the observer frame that was cut is lost at the
        // transport level. It must not appear in the ledger, not even as a partial frame.
        await expectLines(["after-refused", "after-cut"]);
        const after = await statusAfter(2);
        // Exactly the whole frames were counted: 3 before, then after-cut's two. The half
        // frame is not a frame, not an unparseable one, and not an observation.
        assertEquals(after.counters.frames, 5);
        assertEquals(after.counters.observations, 5);
        assertEquals(Object.values(after.counters.skipped).reduce((a, b) => a + b, 0), 0);
        assertEquals(after.gateway.connects, 2);
        assertEquals(after.gateway.disconnects, 1);
        assertEquals(after.state, "CONNECTED");
        assertEquals(after.ledger.dropped, 0);
      },
    );

    await t.step(
      "a slow gateway (one chunk per 250 ms, a frame split over several chunks): every frame in order, once, the connection kept",
      async () => {
        const before = (await status())!;
        proxy.slowMs = 250;
        proxy.mode = "slow";
        try {
          const sent = Date.now();
          violate("slow-1");
          // 200 kB of padding: the proxy reads at most 64 KiB at a time, so this observer
          // frame reaches the coordinator in at least four pieces, a quarter second apart.
          gw.send(update("slow-2", "primary"));
          gw.send({ ...update("slow-2", "observer"), pad: "x".repeat(200_000) });
          violate("slow-3");
          await expectLines(["after-refused", "after-cut", "slow-1", "slow-2", "slow-3"], 40_000);
          const took = Date.now() - sent;
          assert(took >= 3 * proxy.slowMs, `took ${took} ms: the proxy was not slow`);
        } finally {
          proxy.mode = "pass";
        }
        const after = await statusAfter(5);
        assertEquals(after.counters.frames, before.counters.frames + 6);
        assertEquals(Object.values(after.counters.skipped).reduce((a, b) => a + b, 0), 0);
        assertEquals(after.gateway.connects, before.gateway.connects);
        assertEquals(after.gateway.disconnects, before.gateway.disconnects);
        assertEquals(after.state, "CONNECTED");
      },
    );

    await t.step(
      "a silent gateway: legacy has no heartbeat, so silence is not taken for a dead link; the same connection records the next violation once",
      async () => {
        const before = (await status())!;
        proxy.mode = "silent";
        try {
          // By design (lib/gateway/link.ts waits on `socket.closed` alone for legacy; the
          // protocol has no heartbeat to miss), a quiet legacy gateway is an idle one.
          await holdsFor(
            "CONNECTED with the same connection while the gateway is silent",
            async () => {
              const s = await status();
              return s?.state === "CONNECTED" &&
                s.gateway.connects === before.gateway.connects &&
                s.gateway.disconnects === before.gateway.disconnects;
            },
            6_000,
          );
        } finally {
          proxy.mode = "pass";
        }
        // The daemon was alive, not just quiet: its lock is held, and `status` says so (a
        // quiet daemon no longer rewrites its status file).
        const health = await runCli(["status"], { cwd: dir.path, flags: sandboxFlags() });
        assertEquals(health.code, 0, health.stdout + health.stderr);
        const during = (await status())!;
        assertEquals(during.reasons, []);
        assertEquals(gw.subscribers.size, 1);
        assertEquals(subscribes(), 2);

        violate("after-silent");
        await expectLines([
          "after-refused",
          "after-cut",
          "slow-1",
          "slow-2",
          "slow-3",
          "after-silent",
        ]);
        const after = await statusAfter(6);
        assertEquals(after.gateway.connects, before.gateway.connects);
        assertEquals(after.gateway.disconnects, before.gateway.disconnects);
        assertEquals(after.state, "CONNECTED");
      },
    );

    assertEquals((await python(["verify", ledgerPath(dir.path)])).stdout.trim(), "OK 6");
    assertEquals((await daemon.stop()).code, 0, daemon.stderr);
    assertEquals((await status())?.state, "STOPPED");
    assert(!/ ERROR /.test(daemon.stderr), `errors logged:\n${daemon.stderr}`);
  } finally {
    await daemon.stop("SIGKILL").catch(() => {});
    proxy.close();
    await gw.stop();
  }
});
