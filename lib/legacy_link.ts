/**
 * A WebSocket link to a gateway that speaks the seed's legacy protocol: connect,
 * subscribe, deliver frames, and reconnect with backoff when the link drops.
 * @module
 */
import { backoffDelay, type BackoffPolicy, RECONNECT_BACKOFF } from "./backoff.ts";
import { LEGACY_SUBSCRIBE } from "./legacy.ts";

/** What the link reports to its owner. */
export interface LinkHandlers {
  /** A text frame arrived. */
  onFrame(text: string): void;
  /** The link came up. */
  onConnected(): void;
  /** The link went down (or a connect attempt failed); `retryInMs` until the next attempt. */
  onDisconnected(reason: string, retryInMs: number): void;
}

/** Options for the link. */
export interface LinkOptions {
  backoff?: BackoffPolicy;
  /** A connection that lasted this long resets the backoff. */
  stableMs?: number;
  /** A connection not open after this long is given up and retried. */
  openTimeoutMs?: number;
  random?: () => number;
}

/** Thrown by {@link LegacyLink.start} when the sandbox forbids the gateway address. */
export class LinkPermissionError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LinkPermissionError";
  }
}

/** A self-healing link to a legacy gateway. */
export class LegacyLink {
  readonly #url: string;
  readonly #handlers: LinkHandlers;
  readonly #backoff: BackoffPolicy;
  readonly #stableMs: number;
  readonly #random: () => number;
  readonly #openTimeoutMs: number;
  #ws: WebSocket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #openedAt = 0;
  #stopped = false;
  #closed: Promise<void> = Promise.resolve();

  /** Creates a link to `url`; call {@link start} to connect. */
  constructor(url: string, handlers: LinkHandlers, opts: LinkOptions = {}) {
    this.#url = url;
    this.#handlers = handlers;
    this.#backoff = opts.backoff ?? RECONNECT_BACKOFF;
    this.#stableMs = opts.stableMs ?? 60_000;
    this.#random = opts.random ?? Math.random;
    this.#openTimeoutMs = opts.openTimeoutMs ?? 10_000;
  }

  /** Connects; throws {@link LinkPermissionError} if the sandbox forbids the address. */
  start(): void {
    this.#connect();
  }

  #connect(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url);
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        throw new LinkPermissionError(
          `Cannot connect to ${this.#url}: the permission set does not allow this address ` +
            "(the coordinator may only reach 127.0.0.1:18789)",
          { cause: err },
        );
      }
      throw err;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    // A peer that accepts the connection but never completes the handshake must not
    // leave the link waiting for ever.
    const openTimer = setTimeout(() => ws.close(), this.#openTimeoutMs);
    let resolveClosed!: () => void;
    this.#closed = new Promise((r) => resolveClosed = r);
    let opened = false;
    ws.onopen = () => {
      clearTimeout(openTimer);
      opened = true;
      this.#openedAt = Date.now();
      ws.send(LEGACY_SUBSCRIBE);
      this.#handlers.onConnected();
    };
    ws.onmessage = (ev: MessageEvent) => {
      const data = ev.data;
      if (typeof data === "string") this.#handlers.onFrame(data);
      else if (data instanceof ArrayBuffer) {
        this.#handlers.onFrame(new TextDecoder().decode(data));
      }
    };
    ws.onerror = () => {/* the close event follows and carries the outcome */};
    ws.onclose = (ev: CloseEvent) => {
      clearTimeout(openTimer);
      this.#ws = undefined;
      resolveClosed();
      if (this.#stopped) return;
      if (opened && Date.now() - this.#openedAt >= this.#stableMs) this.#attempt = 0;
      const delay = backoffDelay(this.#attempt++, this.#backoff, this.#random);
      const reason = opened
        ? `connection closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`
        : "cannot connect (is the gateway running?)";
      this.#handlers.onDisconnected(reason, delay);
      this.#timer = setTimeout(() => this.#connectSafely(), delay);
    };
  }

  #connectSafely(): void {
    try {
      this.#connect();
    } catch (err) {
      this.#handlers.onDisconnected(String(err), this.#backoff.capMs);
      this.#timer = setTimeout(() => this.#connectSafely(), this.#backoff.capMs);
    }
  }

  /** Closes the link and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      ws.close(1000, "coordinator stopping");
      // Do not hang on a peer that never answers the close.
      await Promise.race([this.#closed, new Promise((r) => setTimeout(r, 1000))]);
    }
  }
}
