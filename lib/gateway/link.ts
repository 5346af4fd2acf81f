/**
 * The coordinator's link to the gateway: connect, pick the protocol (a gateway that opens
 * with `connect.challenge` speaks OpenClaw's; one that stays silent gets the legacy
 * subscription), run it, and reconnect with exponential backoff and full jitter when it
 * drops. Failures a retry cannot fix (a refused token, a forbidden address) stop the link.
 * @module
 */
import {
  backoffDelay,
  type BackoffPolicy,
  type Clock,
  RECONNECT_BACKOFF,
  systemClock,
  type TimerId,
} from "../util/mod.ts";
import { LEGACY_SUBSCRIBE } from "./legacy.ts";
import {
  type ConnectOptions,
  ConnectRejected,
  isChallenge,
  OpenClawConnection,
} from "./openclaw/connection.ts";
import { covers, READ_SCOPE } from "./openclaw/protocol.ts";
import { watch, type WatchDeps } from "./openclaw/watch.ts";
import { FrameSocket, SocketPermissionError } from "./socket.ts";

/** Which protocol to speak. */
export type ProtocolChoice = "auto" | "openclaw" | "legacy";

/** What a connection turned out to be. */
export interface ConnectedInfo {
  /** The protocol the gateway speaks. */
  protocol: "legacy" | "openclaw";
  /** OpenClaw: the protocol version agreed in `hello-ok`. */
  protocolVersion?: number;
  /** OpenClaw: the gateway's version, when it says. */
  serverVersion?: string;
}

/** The gateway refused the coordinator for a reason a retry cannot fix. */
export class GatewayRefused extends Error {
  /** Creates the error; `code` is the gateway's (e.g. AUTH_TOKEN_MISMATCH). */
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = "GatewayRefused";
  }
}

/** What the link reports. */
export interface LinkHandlers {
  /** A legacy gateway sent a text frame. */
  onLegacyFrame(text: string): void;
  /** A connection is up (and, for OpenClaw, authenticated). */
  onConnected(info: ConnectedInfo): void;
  /** The link is down; the next attempt is in `retryInMs`; `planned` when the gateway said it was restarting. */
  onDisconnected(reason: string, retryInMs: number, planned: boolean): void;
  /** The link has stopped for good; `err` says why ({@link GatewayRefused} or {@link SocketPermissionError}). */
  onFatal(err: Error): void;
  /** Something worth a log line (never a secret or an agent's text). */
  onNotice(level: "info" | "warn", msg: string, fields?: Record<string, unknown>): void;
}

/** What the OpenClaw protocol needs from its owner. */
export interface OpenClawSetup {
  /** Identity, token and client facts for `connect` (read afresh for each attempt). */
  connectOptions(): Promise<Omit<ConnectOptions, "challenge" | "useDeviceToken">>;
  /**
   * The gateway refused `connect` for good (`message` says why): whether to try again at
   * once, asking for fewer scopes (default: no, the refusal stops the link).
   */
  connectRefused?(message: string): boolean;
  /** Keeps a device token the gateway issued, or forgets one it rejected (undefined). */
  saveDeviceToken(token: string | undefined): Promise<void>;
  /** Everything {@link watch} needs but the connection. */
  watchDeps(): Omit<WatchDeps, "conn">;
}

/** Options of the link. */
export interface LinkOptions {
  /** The gateway's WebSocket URL. */
  url: string;
  /** The protocol to speak, or `auto` to detect it. */
  protocol: ProtocolChoice;
  /** What the OpenClaw protocol needs from the owner. */
  openclaw: OpenClawSetup;
  /** Delays between attempts (default {@link RECONNECT_BACKOFF}). */
  backoff?: BackoffPolicy;
  /** A connection that lasted this long resets the backoff. */
  stableMs?: number;
  /** How long the WebSocket handshake may take, in ms (default 10 s). */
  openTimeoutMs?: number;
  /** How long `auto` waits for a challenge before taking the gateway for a legacy one. */
  detectMs?: number;
  /** Random numbers in [0, 1) for the backoff's jitter (default `Math.random`). */
  random?: () => number;
  /** The clock for the backoff, the socket's timeouts and the watch (default the system clock). */
  clock?: Clock;
}

/** A self-healing link. */
export class GatewayLink {
  readonly #o: Required<Omit<LinkOptions, "openclaw">> & { openclaw: OpenClawSetup };
  readonly #h: LinkHandlers;
  #stopped = false;
  #socket: FrameSocket | undefined;
  #wake: (() => void) | undefined;
  #done: Promise<void> = Promise.resolve();

  /** Creates the link; {@link start} connects. */
  constructor(opts: LinkOptions, handlers: LinkHandlers) {
    this.#o = {
      backoff: RECONNECT_BACKOFF,
      stableMs: 60_000,
      openTimeoutMs: 10_000,
      detectMs: 1_500,
      random: Math.random,
      clock: systemClock,
      ...opts,
    };
    this.#h = handlers;
  }

  /** Starts connecting (in the background). */
  start(): void {
    this.#done = this.#loop();
  }

  /** Closes the link and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#socket?.close(1000, "coordinator stopping");
    this.#wake?.();
    let timer: TimerId | undefined;
    await Promise.race([
      this.#done,
      new Promise((r) => (timer = this.#o.clock.setTimeout(() => r(undefined), 2_000))),
    ]);
    this.#o.clock.clearTimeout(timer);
  }

  async #loop(): Promise<void> {
    const clock = this.#o.clock;
    let attempt = 0;
    // The device token the gateway last rejected: not sent again, but one issued later is.
    let rejectedDeviceToken: string | undefined;
    while (!this.#stopped) {
      let reason: string;
      let delay: number | undefined;
      let planned = false;
      let upSince: number | undefined;
      let socket: FrameSocket | undefined;
      try {
        socket = await FrameSocket.open(this.#o.url, {
          openTimeoutMs: this.#o.openTimeoutMs,
          clock,
        });
        this.#socket = socket;
        if (this.#stopped) {
          socket.close(1000, "coordinator stopping");
          break;
        }
        let protocol = this.#o.protocol;
        let challenge: string | undefined;
        if (protocol === "auto") {
          const first = await socket.nextFrame(this.#o.detectMs);
          if (first !== undefined && isChallenge(first)) {
            protocol = "openclaw";
            challenge = first;
          } else {
            protocol = "legacy";
            if (first !== undefined) this.#h.onLegacyFrame(first);
          }
        }
        if (protocol === "legacy") {
          socket.setHandler((t) => this.#h.onLegacyFrame(t));
          socket.send(LEGACY_SUBSCRIBE);
          upSince = clock.now();
          this.#h.onConnected({ protocol: "legacy" });
          const c = await socket.closed;
          reason = `connection closed (code ${c.code}${c.reason ? `: ${c.reason}` : ""})`;
        } else {
          const base = await this.#o.openclaw.connectOptions();
          const deviceToken = base.identity.deviceToken;
          const useDeviceToken = deviceToken !== undefined && deviceToken !== rejectedDeviceToken;
          let conn: OpenClawConnection;
          try {
            conn = await OpenClawConnection.connect(socket, {
              ...base,
              useDeviceToken,
              ...(challenge !== undefined ? { challenge } : {}),
            });
          } catch (err) {
            socket.close();
            if (!(err instanceof ConnectRejected)) throw err;
            const f = err.failure;
            if (
              f.kind === "fatal" && mayAskLess(f.code) &&
              this.#o.openclaw.connectRefused?.(f.message)
            ) {
              continue;
            }
            if (f.kind === "fatal") {
              throw new GatewayRefused(`The gateway refused the coordinator: ${f.message}`, f.code);
            }
            if (f.kind === "device_token_rejected") {
              // The stored device token is no longer good: forget it and use the shared token.
              this.#h.onNotice(
                "warn",
                "the gateway rejected the stored device token; using the gateway token",
                {
                  detail: f.message,
                },
              );
              await this.#o.openclaw.saveDeviceToken(undefined);
              rejectedDeviceToken = deviceToken;
              continue;
            }
            reason = `gateway not ready: ${f.message}`;
            delay = f.afterMs ?? backoffDelay(attempt++, this.#o.backoff, this.#o.random);
            this.#h.onDisconnected(reason, delay, false);
            await this.#sleep(delay);
            continue;
          }
          if (
            !covers(conn.hello.scopes, READ_SCOPE)
          ) {
            conn.close();
            throw new GatewayRefused(
              "The gateway refused the coordinator: it did not grant operator.read " +
                `(granted: ${
                  conn.hello.scopes.join(", ") || "none"
                }): approve the coordinator's device for ` +
                "operator.read on the gateway, then restart the coordinator",
              "MISSING_SCOPE",
            );
          }
          const issued = conn.hello.deviceToken;
          if (issued !== undefined && issued !== base.identity.deviceToken) {
            await this.#o.openclaw.saveDeviceToken(issued);
          }
          upSince = clock.now();
          this.#h.onConnected({
            protocol: "openclaw",
            protocolVersion: conn.hello.protocol,
            ...(conn.hello.serverVersion ? { serverVersion: conn.hello.serverVersion } : {}),
          });
          const end = await watch({ clock, ...this.#o.openclaw.watchDeps(), conn });
          reason = end.reason;
          planned = end.planned;
          if (end.planned) delay = Math.max(250, end.plannedRestartMs ?? 1_000);
        }
      } catch (err) {
        if (err instanceof GatewayRefused || err instanceof SocketPermissionError) {
          this.#h.onFatal(err);
          return;
        }
        reason = (err as Error).message;
      } finally {
        // Whatever happened, this attempt's socket is done with.
        if (socket !== undefined && !socket.isClosed) socket.close();
        this.#socket = undefined;
      }
      if (this.#stopped) break;
      if (upSince !== undefined && clock.now() - upSince >= this.#o.stableMs) attempt = 0;
      if (delay === undefined) delay = backoffDelay(attempt++, this.#o.backoff, this.#o.random);
      this.#h.onDisconnected(reason, delay, planned);
      await this.#sleep(delay);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const clock = this.#o.clock;
      const timer = clock.setTimeout(done, ms);
      function done() {
        clock.clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

// A refusal that asking for fewer scopes might change: the device is not paired or approved
// for what it asked (OpenClaw's NOT_PAIRED / PAIRING_REQUIRED, a scope refused). A wrong
// secret, a rate limit or a protocol mismatch is not: retrying at once would only prolong it.
function mayAskLess(code: string): boolean {
  return /PAIRING|NOT_PAIRED|SCOPE/.test(code) && code !== "AUTH_SCOPE_MISMATCH";
}
