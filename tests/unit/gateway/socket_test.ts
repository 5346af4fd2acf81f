import { assertEquals } from "../../support/assert.ts";
import { CLOSE_GRACE_MS, type CloseInfo, FrameSocket } from "../../../lib/gateway/socket.ts";
import { FakeClock } from "../../support/fake_clock.ts";

// A server that completes the WebSocket handshake and then freezes: it never reads again,
// so it never answers a close, like a stopped gateway process whose socket stays open.
function frozenServer(): { port: number; stop: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      const req = new TextDecoder().decode(buf.subarray(0, n ?? 0));
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(req)?.[1] ?? "";
      const digest = await crypto.subtle.digest(
        "SHA-1",
        new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
      );
      const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      ));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stop: () => {
      listener.close();
      for (const c of conns) c.close();
    },
  };
}

Deno.test("closing a socket whose peer never answers still ends it after the grace period", async () => {
  const server = frozenServer();
  const clock = new FakeClock();
  try {
    const socket = await FrameSocket.open(`ws://127.0.0.1:${server.port}`, {
      openTimeoutMs: 5000,
      closeGraceMs: 1500,
      clock,
    });
    let info: CloseInfo | undefined;
    void socket.closed.then((c) => (info = c));
    socket.close(4000, "tick timeout");
    await clock.tick(1499);
    assertEquals(info, undefined, "closed before the grace period ran out");
    await clock.tick(1);
    assertEquals(info, { code: 1006, reason: "the peer did not answer the close" });
    assertEquals(socket.isClosed, true);
  } finally {
    server.stop();
  }
});

Deno.test("the close grace period is CLOSE_GRACE_MS unless told otherwise", async () => {
  const server = frozenServer();
  const clock = new FakeClock();
  try {
    const socket = await FrameSocket.open(`ws://127.0.0.1:${server.port}`, {
      openTimeoutMs: 5000,
      clock,
    });
    socket.close();
    assertEquals(clock.nextDue! - clock.now(), CLOSE_GRACE_MS);
    await clock.tick(CLOSE_GRACE_MS);
    assertEquals((await socket.closed).code, 1006);
  } finally {
    server.stop();
  }
});
