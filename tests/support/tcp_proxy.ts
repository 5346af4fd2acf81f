/**
 * A TCP proxy between the coordinator and a real gateway, for fault tests: it can refuse
 * connections (not listening), cut a connection in the middle of a frame, go silent (pass
 * nothing on, not even a close), or pass the gateway's bytes on slowly. It changes no byte it
 * passes on, except for header lines it is asked to add to the client's opening request (as a
 * reverse proxy in front of the gateway would).
 */

import { writeAll } from "../../lib/util/fs.ts";

/** What the proxy does with bytes from the gateway. */
export type ProxyMode = "pass" | "silent" | "slow";

/** A proxy from a local port to `127.0.0.1:target`. */
export class TcpProxy {
  #listener: Deno.Listener | undefined;
  readonly #conns = new Set<Deno.Conn>();
  #cutArmed = false;
  /** How bytes from the gateway are passed on (new and open connections alike). */
  mode: ProxyMode = "pass";
  /** Delay per chunk in slow mode, ms. */
  slowMs = 1_000;
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections cut in the middle of a chunk. */
  cuts = 0;
  /** Header lines added to each client's opening HTTP request (e.g. `x-openclaw-scopes: …`). */
  addHeaders: string[] = [];

  constructor(readonly target: number, readonly port: number) {}

  /** Starts accepting; until then, connecting is refused. */
  listen(): void {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    void this.#accept(this.#listener);
  }

  /** Cuts the next chunk from the gateway in half: passes on the first half, then closes. */
  cutNextChunk(): void {
    this.#cutArmed = true;
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    try {
      for await (const client of listener) {
        this.accepted++;
        let server: Deno.Conn;
        try {
          server = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
        } catch {
          client.close();
          continue;
        }
        this.#conns.add(client);
        this.#conns.add(server);
        const closeBoth = () => {
          for (const c of [client, server]) {
            if (this.#conns.delete(c)) {
              try {
                c.close();
              } catch { /* closed */ }
            }
          }
        };
        void this.#pump(client, server, false, [...this.addHeaders]).finally(closeBoth);
        // A silent gateway is silent to the end: its own hang-up is not passed on either (the
        // real one drops a client that does not answer its pings), so only the coordinator's
        // liveness check can end the link.
        void this.#pump(server, client, true).finally(() => {
          if (this.mode !== "silent") closeBoth();
        });
      }
    } catch {
      // Listener closed.
    }
  }

  async #pump(
    from: Deno.Conn,
    to: Deno.Conn,
    fromGateway: boolean,
    addHeaders: string[] = [],
  ): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    const held: Uint8Array[] = [];
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) return;
        let chunk: Uint8Array = buf.slice(0, n);
        if (!fromGateway) {
          if (addHeaders.length > 0) chunk = withHeaders(chunk, addHeaders.splice(0));
          await writeAll(to, chunk);
          continue;
        }
        if (this.#cutArmed && n >= 2) {
          this.#cutArmed = false;
          this.cuts++;
          await writeAll(to, chunk.subarray(0, n >> 1));
          return;
        }
        if (this.mode === "silent") {
          held.push(chunk); // kept, never passed on: the connection just goes quiet
          continue;
        }
        if (this.mode === "slow") await new Promise((r) => setTimeout(r, this.slowMs));
        await writeAll(to, chunk);
      }
    } catch {
      // Either side closed.
    }
  }

  /** Stops listening and closes every connection. */
  close(): void {
    try {
      this.#listener?.close();
    } catch { /* closed */ }
    this.#listener = undefined;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
  }
}

// The request with header lines added after its request line (the first chunk holds it).
function withHeaders(chunk: Uint8Array, headers: string[]): Uint8Array {
  const text = new TextDecoder().decode(chunk);
  const end = text.indexOf("\r\n");
  if (end < 0) throw new Error("The client's first chunk holds no request line");
  const added = headers.map((h) => `${h}\r\n`).join("");
  return new TextEncoder().encode(text.slice(0, end + 2) + added + text.slice(end + 2));
}
