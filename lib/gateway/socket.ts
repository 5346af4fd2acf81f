/**
 * One WebSocket connection as a small promise-based object: open with a timeout, frames
 * as text (buffered until a handler is set), and a promise for the close.
 * @module
 */
import { type Clock, systemClock } from "../util/mod.ts";

/** How a connection ended. */
export interface CloseInfo {
  /** The WebSocket close code. */
  code: number;
  /** The close reason, as the peer or the socket gave it. */
  reason: string;
}

/** The sandbox forbids the address: a restart will not help. */
export class SocketPermissionError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SocketPermissionError";
  }
}

/** The connection could not be opened (refused, timed out, closed during the handshake). */
export class SocketOpenError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SocketOpenError";
  }
}

const decoder = new TextDecoder();
/** How long a close may wait for the peer's answer, unless {@link SocketOptions.closeGraceMs} says otherwise. */
export const CLOSE_GRACE_MS = 3_000;

/** How a connection is opened and closed. */
export interface SocketOptions {
  /** How long the WebSocket handshake may take. */
  openTimeoutMs: number;
  /** How long a close waits for the peer's answer (default {@link CLOSE_GRACE_MS}). */
  closeGraceMs?: number;
  /** The clock for the timeouts and `lastFrameAt` (default the system clock). */
  clock?: Clock;
}

/** An open WebSocket delivering text frames. */
export class FrameSocket {
  readonly #ws: WebSocket;
  /** Settles when the connection has closed, however it ended. */
  readonly closed: Promise<CloseInfo>;
  #handler: ((text: string) => void) | undefined;
  #buffer: string[] = [];
  #waiter: ((text: string | undefined) => void) | undefined;
  #isClosed = false;
  #closing = false;
  readonly #clock: Clock;
  readonly #closeGraceMs: number;
  /** When the last frame arrived (ms since the epoch). */
  lastFrameAt: number;

  readonly #forceClosed: (c: CloseInfo) => void;

  private constructor(
    ws: WebSocket,
    closed: Promise<CloseInfo>,
    forceClosed: (c: CloseInfo) => void,
    opts: { clock: Clock; closeGraceMs: number },
  ) {
    this.#ws = ws;
    this.closed = closed;
    this.#forceClosed = forceClosed;
    this.#clock = opts.clock;
    this.#closeGraceMs = opts.closeGraceMs;
    this.lastFrameAt = this.#clock.now();
    ws.onmessage = (ev: MessageEvent) => {
      this.lastFrameAt = this.#clock.now();
      const data = ev.data;
      const text = typeof data === "string"
        ? data
        : data instanceof ArrayBuffer
        ? decoder.decode(data)
        : undefined;
      if (text === undefined) return;
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = undefined;
        w(text);
      } else if (this.#handler) this.#handler(text);
      else this.#buffer.push(text);
    };
    void closed.then(() => {
      this.#isClosed = true;
      this.#waiter?.(undefined);
      this.#waiter = undefined;
    });
  }

  /**
   * Opens a connection to `url`; rejects with {@link SocketPermissionError} or
   * {@link SocketOpenError}. A number for `options` is the open timeout.
   */
  static open(url: string, options: SocketOptions | number): Promise<FrameSocket> {
    const opts = typeof options === "number" ? { openTimeoutMs: options } : options;
    const clock = opts.clock ?? systemClock;
    const closeGraceMs = opts.closeGraceMs ?? CLOSE_GRACE_MS;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        return Promise.reject(
          new SocketPermissionError(
            `Cannot connect to ${url}: the permission set does not allow this address ` +
              "(the coordinator may only reach 127.0.0.1:18789)",
            { cause: err },
          ),
        );
      }
      return Promise.reject(
        new SocketOpenError(`Cannot connect to ${url}: ${(err as Error).message}`),
      );
    }
    ws.binaryType = "arraybuffer";
    let resolveClosed!: (c: CloseInfo) => void;
    const closed = new Promise<CloseInfo>((r) => (resolveClosed = r));
    ws.onclose = (ev: CloseEvent) => resolveClosed({ code: ev.code, reason: ev.reason });
    ws.onerror = () => {/* the close event carries the outcome */};
    return new Promise<FrameSocket>((resolve, reject) => {
      // A peer that accepts the connection but never completes the handshake must not
      // leave the coordinator waiting for ever.
      const timer = clock.setTimeout(() => {
        ws.close();
        reject(new SocketOpenError("cannot connect (no answer to the WebSocket handshake)"));
      }, opts.openTimeoutMs);
      ws.onopen = () => {
        clock.clearTimeout(timer);
        resolve(new FrameSocket(ws, closed, resolveClosed, { clock, closeGraceMs }));
      };
      void closed.then((c) => {
        clock.clearTimeout(timer);
        reject(
          new SocketOpenError(
            `cannot connect (is the gateway running?${c.code ? ` close ${c.code}` : ""})`,
          ),
        );
      });
    });
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Bytes queued for sending. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Delivers frames to `handler`, starting with any that arrived before. */
  setHandler(handler: (text: string) => void): void {
    this.#handler = handler;
    const pending = this.#buffer;
    this.#buffer = [];
    for (const t of pending) handler(t);
  }

  /** The next frame, or undefined after `timeoutMs` or when the connection closes. */
  nextFrame(timeoutMs: number): Promise<string | undefined> {
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return Promise.resolve(buffered);
    if (this.#isClosed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.#waiter = (t) => {
        this.#clock.clearTimeout(timer);
        resolve(t);
      };
    });
  }

  /** Sends a text frame (dropped if the connection has closed). */
  send(text: string): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(text);
  }

  /**
   * Closes the connection. A peer that never answers the close (a frozen gateway) does not
   * hold it open: after the close grace ({@link SocketOptions.closeGraceMs}) it counts as
   * closed anyway.
   */
  close(code = 1000, reason = ""): void {
    if (this.#isClosed || this.#closing) return;
    this.#closing = true;
    try {
      this.#ws.close(code, reason);
    } catch {
      this.#ws.close();
    }
    const timer = this.#clock.setTimeout(
      () => this.#forceClosed({ code: 1006, reason: "the peer did not answer the close" }),
      this.#closeGraceMs,
    );
    void this.closed.then(() => this.#clock.clearTimeout(timer));
  }
}
