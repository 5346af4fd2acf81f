import { assert, assertEquals } from "../../support/assert.ts";
import { GatewayLink, type LinkHandlers, type OpenClawSetup } from "../../../lib/gateway/link.ts";
import {
  type DeviceIdentity,
  generateIdentity,
} from "../../../lib/gateway/openclaw/device_identity.ts";
import { TurnTracker } from "../../../lib/gateway/openclaw/turn_tracker.ts";
import { newWatchCounters } from "../../../lib/gateway/openclaw/watch.ts";
import { LegacyGateway } from "../../support/legacy_gateway.ts";
import { waitFor } from "../../support/helpers.ts";
import { FakeClock } from "../../support/fake_clock.ts";

// The legacy path never asks for OpenClaw facts.
const NO_OPENCLAW: OpenClawSetup = {
  connectOptions: () => Promise.reject(new Error("not used")),
  saveDeviceToken: () => Promise.resolve(),
  watchDeps: () => {
    throw new Error("not used");
  },
};

function recorder() {
  const seen = {
    frames: [] as string[],
    connected: 0,
    disconnects: [] as string[],
    fatal: [] as Error[],
  };
  const handlers: LinkHandlers = {
    onLegacyFrame: (t) => seen.frames.push(t),
    onConnected: () => seen.connected++,
    onDisconnected: (reason) => seen.disconnects.push(reason),
    onFatal: (e) => seen.fatal.push(e),
    onNotice: () => {},
  };
  return { seen, handlers };
}

Deno.test("a connection that never completes its handshake is given up and retried", async () => {
  // A TCP listener that accepts and then says nothing, like a hung gateway.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) conns.push(c);
  })();
  const { seen, handlers } = recorder();
  const link = new GatewayLink({
    url: `ws://127.0.0.1:${listener.addr.port}`,
    protocol: "legacy",
    openclaw: NO_OPENCLAW,
    openTimeoutMs: 200,
    backoff: { baseMs: 10, capMs: 20 },
  }, handlers);
  try {
    link.start();
    await waitFor("two attempts to time out", () => seen.disconnects.length >= 2, 5000);
    assert(conns.length >= 2, `only ${conns.length} connection attempts`);
    assertEquals(seen.connected, 0);
  } finally {
    await link.stop();
    listener.close();
    for (const c of conns) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("binary frames reach the legacy handler as text", async () => {
  const gw = new LegacyGateway().start();
  const { seen, handlers } = recorder();
  const link = new GatewayLink(
    { url: gw.url, protocol: "legacy", openclaw: NO_OPENCLAW },
    handlers,
  );
  try {
    link.start();
    await waitFor("subscription", () => gw.subscribers.size === 1);
    gw.sendBinary(
      new TextEncoder().encode('{"type":"session_update","session_id":"b","agent":"observer"}'),
    );
    gw.send({ type: "ping" });
    await waitFor("two frames", () => seen.frames.length === 2);
    assertEquals(JSON.parse(seen.frames[0]!).session_id, "b");
  } finally {
    await link.stop();
    await gw.stop();
  }
});

Deno.test("auto takes a gateway that stays silent for a legacy one and subscribes", async () => {
  const gw = new LegacyGateway().start();
  const { seen, handlers } = recorder();
  const link = new GatewayLink({
    url: gw.url,
    protocol: "auto",
    openclaw: NO_OPENCLAW,
    detectMs: 300,
  }, handlers);
  try {
    link.start();
    await waitFor("subscription", () => gw.subscribers.size === 1);
    assertEquals(seen.connected, 1);
    assertEquals(JSON.parse(gw.received[0]!).type, "subscribe");
  } finally {
    await link.stop();
    await gw.stop();
  }
});

Deno.test("a refused connection is retried, not taken as fatal", async () => {
  const { seen, handlers } = recorder();
  const link = new GatewayLink({
    url: "ws://127.0.0.1:1",
    protocol: "legacy",
    openclaw: NO_OPENCLAW,
    backoff: { baseMs: 10, capMs: 10 },
  }, handlers);
  link.start();
  await waitFor("a failed attempt", () => seen.disconnects.length >= 1, 5000);
  await link.stop();
  assertEquals(seen.fatal.length, 0, "a refused connection is not fatal: it is retried");
});

Deno.test("a refused connection is retried after the backoff delay, timed by the link's clock", async () => {
  const { seen, handlers } = recorder();
  const clock = new FakeClock();
  const link = new GatewayLink({
    url: "ws://127.0.0.1:1",
    protocol: "legacy",
    openclaw: NO_OPENCLAW,
    backoff: { baseMs: 1000, capMs: 1000 },
    random: () => 0.5,
    clock,
  }, handlers);
  link.start();
  try {
    await waitFor("a failed attempt", () => seen.disconnects.length === 1, 5000);
    assertEquals(clock.nextDue! - clock.now(), 500, "the retry is not timed on the fake clock");
    await clock.tick(500);
    await waitFor("the retry", () => seen.disconnects.length === 2, 5000);
  } finally {
    await link.stop();
  }
});

/**
 * A scripted OpenClaw gateway: a challenge, then `connect` answered by `answer` (the
 * connection's number from 0, and the auth it sent); `sessions.*` answered as on a first
 * run. Connections after a hello-ok are closed by the gateway once subscribed when
 * `closeAfterSubscribe` says so.
 */
function scriptedOpenClaw(opts: {
  answer(n: number, auth: Record<string, string>): Record<string, unknown>;
  closeAfterSubscribe(n: number): boolean;
}) {
  const auths: Record<string, string>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    let n = -1;
    socket.onopen = () =>
      socket.send(JSON.stringify({
        type: "event",
        event: "connect.challenge",
        payload: { nonce: "nonce", ts: 1 },
      }));
    socket.onmessage = (ev) => {
      const f = JSON.parse(ev.data as string);
      const reply = (payload: unknown) =>
        socket.send(JSON.stringify({ type: "res", id: f.id, ok: true, payload }));
      if (f.method === "connect") {
        n = auths.push(f.params.auth) - 1;
        const answer = opts.answer(n, f.params.auth);
        socket.send(JSON.stringify({ type: "res", id: f.id, ...answer }));
        if (answer.ok === false) socket.close(1008, "connect failed");
      } else if (f.method === "sessions.subscribe") {
        reply({ subscribed: true });
        if (opts.closeAfterSubscribe(n)) socket.close(1000, "bye");
      } else reply({ sessions: [], hasMore: false });
    };
    return response;
  });
  return { url: `ws://127.0.0.1:${server.addr.port}`, auths, stop: () => server.shutdown() };
}

const helloOk = (deviceToken?: string) => ({
  ok: true,
  payload: {
    type: "hello-ok",
    protocol: 4,
    server: { version: "test" },
    policy: { tickIntervalMs: 30_000 },
    auth: { scopes: ["operator.read"], ...(deviceToken ? { deviceToken } : {}) },
  },
});

/**
 * A link to a scripted OpenClaw gateway with the shared token and `scopes`, the rest of its
 * setup from `setup` (the device token kept, the refusal hook); the watch needs no more.
 */
function openclawLink(
  url: string,
  handlers: LinkHandlers,
  p: {
    identity: DeviceIdentity;
    scopes: () => string[];
    saveDeviceToken?: OpenClawSetup["saveDeviceToken"];
    connectRefused?: OpenClawSetup["connectRefused"];
  },
): GatewayLink {
  return new GatewayLink({
    url,
    protocol: "openclaw",
    random: () => 0,
    openclaw: {
      connectOptions: () =>
        Promise.resolve({
          identity: p.identity,
          token: "shared",
          scopes: p.scopes(),
          version: "test",
          platform: "linux",
          timeoutMs: 5000,
        }),
      saveDeviceToken: p.saveDeviceToken ?? (() => Promise.resolve()),
      ...(p.connectRefused ? { connectRefused: p.connectRefused } : {}),
      watchDeps: () => ({
        tracker: new TurnTracker(),
        conversationFrom: "rest",
        counters: newWatchCounters(),
        onTurn: () => {},
        onNotice: () => {},
      }),
    },
  }, handlers);
}

Deno.test("after a device token is rejected, one the gateway issues later is used", async () => {
  const gw = scriptedOpenClaw({
    answer: (n, auth) => {
      if (auth.deviceToken === "dt-old") {
        return {
          ok: false,
          error: {
            code: "INVALID_REQUEST",
            message: "device token mismatch",
            details: { code: "AUTH_DEVICE_TOKEN_MISMATCH" },
          },
        };
      }
      return helloOk(n === 1 ? "dt-new" : undefined);
    },
    closeAfterSubscribe: (n) => n === 1,
  });
  const identity = await generateIdentity();
  identity.deviceToken = "dt-old";
  const saved: (string | undefined)[] = [];
  const { seen, handlers } = recorder();
  const link = openclawLink(gw.url, handlers, {
    identity,
    scopes: () => ["operator.read"],
    saveDeviceToken: (t) => {
      saved.push(t);
      identity.deviceToken = t;
      return Promise.resolve();
    },
  });
  try {
    link.start();
    await waitFor("three connects", () => gw.auths.length === 3 && seen.connected === 2, 10_000);
    assertEquals(saved, [undefined, "dt-new"]);
    assertEquals(gw.auths, [{ deviceToken: "dt-old" }, { token: "shared" }, {
      deviceToken: "dt-new",
    }]);
    assertEquals(seen.fatal, []);
  } finally {
    await link.stop();
    await gw.stop();
  }
});

Deno.test("a connect refused for good is tried once more when the owner will ask for fewer scopes", async () => {
  const gw = scriptedOpenClaw({
    answer: (n) =>
      n === 0
        ? {
          ok: false,
          error: {
            code: "NOT_PAIRED",
            message: "pairing required",
            details: { code: "PAIRING_REQUIRED" },
          },
        }
        : helloOk(),
    closeAfterSubscribe: () => false,
  });
  const identity = await generateIdentity();
  const refusals: string[] = [];
  let scopes = ["operator.read", "operator.write"];
  const asked: string[][] = [];
  const { seen, handlers } = recorder();
  const link = openclawLink(gw.url, handlers, {
    identity,
    scopes: () => (asked.push(scopes), scopes),
    connectRefused: (message) => {
      refusals.push(message);
      if (scopes.length === 1) return false;
      scopes = ["operator.read"];
      return true;
    },
  });
  try {
    link.start();
    await waitFor("connected", () => seen.connected === 1, 10_000);
    assertEquals(asked, [["operator.read", "operator.write"], ["operator.read"]]);
    assertEquals(refusals.length, 1);
    assert(refusals[0]!.includes("PAIRING_REQUIRED"), refusals[0]);
    assertEquals(seen.fatal, []);
  } finally {
    await link.stop();
    await gw.stop();
  }
});

Deno.test("a wrong token or a rate limit is not taken for a refused scope: no second attempt", async () => {
  for (const code of ["AUTH_TOKEN_MISMATCH", "AUTH_RATE_LIMITED"]) {
    const gw = scriptedOpenClaw({
      answer: () => ({
        ok: false,
        error: { code: "INVALID_REQUEST", message: "refused", details: { code } },
      }),
      closeAfterSubscribe: () => false,
    });
    const identity = await generateIdentity();
    const refusals: string[] = [];
    const { seen, handlers } = recorder();
    const link = openclawLink(gw.url, handlers, {
      identity,
      scopes: () => ["operator.read", "operator.write"],
      connectRefused: (m) => (refusals.push(m), true),
    });
    try {
      link.start();
      await waitFor("the refusal", () => seen.fatal.length === 1, 10_000);
      assertEquals(refusals, [], code);
      assertEquals(gw.auths.length, 1, code);
    } finally {
      await link.stop();
      await gw.stop();
    }
  }
});
