import { assert, assertEquals } from "./support/assert.ts";
import { LegacyLink } from "../lib/legacy_link.ts";
import { LegacyGateway } from "./support/legacy_gateway.ts";
import { waitFor } from "./support/helpers.ts";

Deno.test("a connection that never completes its handshake is given up and retried", async () => {
  // A TCP listener that accepts and then says nothing, like a hung gateway.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) conns.push(c);
  })();
  const reasons: string[] = [];
  const link = new LegacyLink(`ws://127.0.0.1:${listener.addr.port}`, {
    onFrame: () => {},
    onConnected: () => {},
    onDisconnected: (reason) => reasons.push(reason),
  }, { openTimeoutMs: 200, backoff: { baseMs: 10, capMs: 20 } });
  try {
    link.start();
    await waitFor("two attempts to time out", () => reasons.length >= 2, 5000);
    assert(conns.length >= 2, `only ${conns.length} connection attempts`);
  } finally {
    await link.stop();
    listener.close();
    for (const c of conns) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("binary frames reach the handler as text", async () => {
  const gw = new LegacyGateway().start();
  const frames: string[] = [];
  const link = new LegacyLink(gw.url, {
    onFrame: (t) => frames.push(t),
    onConnected: () => {},
    onDisconnected: () => {},
  });
  try {
    link.start();
    await waitFor("subscription", () => gw.subscribers.size === 1);
    gw.sendBinary(
      new TextEncoder().encode('{"type":"session_update","session_id":"b","agent":"observer"}'),
    );
    gw.send({ type: "ping" });
    await waitFor("two frames", () => frames.length === 2);
    assertEquals(JSON.parse(frames[0]!).session_id, "b");
  } finally {
    await link.stop();
    await gw.stop();
  }
});
