import { assert, assertEquals } from "./support/assert.ts";
import { GatewayLink, type LinkHandlers, type OpenClawSetup } from "../lib/gateway/link.ts";
import { LegacyGateway } from "./support/legacy_gateway.ts";
import { waitFor } from "./support/helpers.ts";

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
