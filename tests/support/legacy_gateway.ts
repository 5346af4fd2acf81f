/**
 * A scripted gateway that speaks the seed's legacy protocol: the peer for the legacy
 * protocol, which has no reference server. It records what clients send and lets the
 * test push frames to subscribed clients.
 */

/** A running scripted legacy gateway on 127.0.0.1. */
export class LegacyGateway {
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  readonly #sockets = new Set<WebSocket>();
  readonly subscribers = new Set<WebSocket>();
  /** Every text frame clients sent, in order. */
  readonly received: string[] = [];
  /** How many connections were accepted. */
  connections = 0;
  port = 0;

  /** Starts on `port` (0 picks a free one). */
  start(port = 0): this {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
      if (req.headers.get("upgrade") !== "websocket") return new Response("no", { status: 400 });
      const { socket, response } = Deno.upgradeWebSocket(req);
      this.connections++;
      this.#sockets.add(socket);
      socket.onmessage = (ev) => {
        const text = String(ev.data);
        this.received.push(text);
        try {
          const f = JSON.parse(text);
          if (f.type === "subscribe") this.subscribers.add(socket);
        } catch { /* the test inspects received */ }
      };
      socket.onclose = () => {
        this.#sockets.delete(socket);
        this.subscribers.delete(socket);
      };
      socket.onerror = () => {};
      return response;
    });
    this.port = this.#server.addr.port;
    return this;
  }

  /** The URL clients connect to. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Sends a frame (an object is JSON-encoded) to every subscribed client. */
  send(frame: unknown): void {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    for (const s of this.subscribers) if (s.readyState === WebSocket.OPEN) s.send(text);
  }

  /** Sends a binary frame to every subscribed client. */
  sendBinary(data: Uint8Array): void {
    for (const s of this.subscribers) if (s.readyState === WebSocket.OPEN) s.send(data);
  }

  /** A legacy session_update frame. */
  static update(sessionId: string | undefined, agent: string): Record<string, unknown> {
    const f: Record<string, unknown> = { type: "session_update", agent };
    if (sessionId !== undefined) f.session_id = sessionId;
    return f;
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    for (const s of this.#sockets) {
      try {
        s.close(1001, "gateway stopping");
      } catch { /* closed already */ }
    }
    this.#sockets.clear();
    this.subscribers.clear();
    await this.#server?.shutdown();
    this.#server = undefined;
  }
}
