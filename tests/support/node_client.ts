/**
 * A stand-in for the human's device: a client that connects to a real OpenClaw gateway with
 * role `node` (as the macOS, iOS and Android apps do), declares the commands it offers, and
 * answers every `node.invoke.request` it receives, keeping what it was asked.
 */
import { generateIdentity, signText } from "../../lib/gateway/openclaw/device_identity.ts";
import { FrameSocket } from "../../lib/gateway/socket.ts";

/** One invocation the node received. */
export interface NodeInvoke {
  /** The invocation's id (answered with `node.invoke.result`). */
  id: string;
  /** The command, e.g. `system.notify`. */
  command: string;
  /** The params, parsed from `paramsJSON`. */
  params: unknown;
  /** The whole event payload as received. */
  raw: Record<string, unknown>;
}

/** A connected node. */
export class NodeClient {
  /** What the node was asked to do, in order. */
  readonly invokes: NodeInvoke[] = [];
  /** Every event frame received, by name (for the notes). */
  readonly events: { event: string; payload: unknown }[] = [];
  /** The node's id as the gateway knows it (its device id). */
  readonly nodeId: string;
  /** The `hello-ok` payload. */
  readonly hello: Record<string, unknown>;
  readonly #socket: FrameSocket;
  readonly #waiters = new Set<() => void>();
  #next = 1;

  private constructor(socket: FrameSocket, nodeId: string, hello: Record<string, unknown>) {
    this.#socket = socket;
    this.nodeId = nodeId;
    this.hello = hello;
    socket.setHandler((text) => this.#frame(text));
  }

  /** Connects as a node on `platform` (default linux) offering `commands`; every invocation is answered ok. */
  static async connect(opts: {
    url: string;
    token: string;
    commands: string[];
    platform?: string;
    displayName?: string;
  }): Promise<NodeClient> {
    const identity = await generateIdentity();
    const platform = opts.platform ?? "linux";
    const socket = await FrameSocket.open(opts.url, 10_000);
    const first = await socket.nextFrame(10_000);
    const challenge = JSON.parse(first ?? "{}") as { payload?: { nonce: string; ts: number } };
    const { nonce, ts } = challenge.payload!;
    const clientId = "node-host";
    const mode = "node";
    const signature = await signText(
      identity,
      [
        "v3",
        identity.deviceId,
        clientId,
        mode,
        "node",
        "",
        String(ts),
        opts.token,
        nonce,
        platform,
        "",
      ]
        .join("|"),
    );
    socket.send(JSON.stringify({
      type: "req",
      id: "connect",
      method: "connect",
      params: {
        minProtocol: 3,
        maxProtocol: 99,
        client: {
          id: clientId,
          displayName: opts.displayName ?? "test device",
          version: "test",
          platform,
          mode,
        },
        role: "node",
        scopes: [],
        caps: [],
        commands: opts.commands,
        auth: { token: opts.token },
        device: {
          id: identity.deviceId,
          publicKey: identity.publicKey,
          signature,
          signedAt: ts,
          nonce,
        },
      },
    }));
    for (;;) {
      const text = await socket.nextFrame(10_000);
      if (text === undefined) throw new Error("The node got no answer to connect");
      const f = JSON.parse(text);
      if (f.type !== "res" || f.id !== "connect") continue;
      if (!f.ok) {
        socket.close();
        throw new Error(`The node's connect was refused: ${JSON.stringify(f.error)}`);
      }
      return new NodeClient(socket, identity.deviceId, f.payload);
    }
  }

  #frame(text: string): void {
    const f = JSON.parse(text);
    if (f.type !== "event") return;
    this.events.push({ event: f.event, payload: f.payload });
    if (f.event === "node.invoke.request") {
      const p = f.payload as Record<string, unknown>;
      const params = typeof p.paramsJSON === "string" ? JSON.parse(p.paramsJSON) : p.params;
      const invoke = { id: String(p.id), command: String(p.command), params, raw: p };
      this.invokes.push(invoke);
      this.#send("node.invoke.result", {
        id: invoke.id,
        nodeId: this.nodeId,
        ok: true,
        payloadJSON: JSON.stringify({ shown: true }),
      });
    }
    for (const w of this.#waiters) w();
  }

  #send(method: string, params: unknown): void {
    this.#socket.send(JSON.stringify({ type: "req", id: `n${this.#next++}`, method, params }));
  }

  /** Resolves once `pred` holds over the invocations received (checked on every frame). */
  until(pred: (invokes: NodeInvoke[]) => boolean, timeoutMs = 60_000): Promise<void> {
    if (pred(this.invokes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`The node did not get what was awaited within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        if (!pred(this.invokes)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  /** Closes the node's connection. */
  close(): void {
    this.#socket.close();
  }
}
