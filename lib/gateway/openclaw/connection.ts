/**
 * One authenticated connection to an OpenClaw gateway: the challenge, the signed
 * `connect`, then requests matched to responses and events handed on.
 * @module
 */
import { type DeviceIdentity, signText } from "./device_identity.ts";
import {
  classifyConnectError,
  type ConnectFailure,
  connectParams,
  type EventFrame,
  type GatewayError,
  type Hello,
  parseFrame,
  parseHello,
  signaturePayload,
} from "./protocol.ts";
import type { FrameSocket } from "../socket.ts";

/** The gateway refused `connect`; `failure` says whether to retry. */
export class ConnectRejected extends Error {
  /** Creates the error. */
  constructor(readonly failure: ConnectFailure) {
    super(failure.message);
    this.name = "ConnectRejected";
  }
}

/** A request the gateway answered with an error. */
export class RequestError extends Error {
  /** Creates the error. */
  constructor(readonly method: string, readonly error: GatewayError) {
    super(`${method} failed: ${error.message} (${error.details?.code ?? error.code})`);
    this.name = "RequestError";
  }
}

/** What a connection is made with. */
export interface ConnectOptions {
  /** The device identity that signs the challenge. */
  identity: DeviceIdentity;
  /** The shared gateway token (a secret). */
  token: string | undefined;
  /** Send the identity's device token instead of the shared token. */
  useDeviceToken: boolean;
  /** The scopes asked for. */
  scopes: readonly string[];
  /** The coordinator's version, sent as the client's. */
  version: string;
  /** The platform sent as the client's (e.g. `linux`). */
  platform: string;
  /** How long to wait for the challenge and for the answer to `connect`. */
  timeoutMs: number;
  /** The challenge frame, if it was already read (protocol detection). */
  challenge?: string;
  /** Client capabilities to declare (none by default). */
  caps?: readonly string[];
}

/** The frame size limit when the gateway's hello names none (OpenClaw's own default). */
export const DEFAULT_MAX_PAYLOAD = 25 * 1024 * 1024;

/** Whether a frame is the gateway's opening challenge. */
export function isChallenge(text: string): boolean {
  const f = parseFrame(text);
  return f.type === "event" && f.event === "connect.challenge";
}

/** An authenticated connection. */
export class OpenClawConnection {
  /** The socket the connection runs over. */
  readonly socket: FrameSocket;
  /** What the gateway said in `hello-ok`. */
  readonly hello: Hello;
  /** Called for every event frame, with its text. */
  onEvent: ((frame: EventFrame, text: string) => void) | undefined;
  /** Called for every frame that is neither a response nor an event. */
  onInvalid: ((reason: string) => void) | undefined;
  readonly #pending = new Map<
    string,
    { method: string; resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;

  private constructor(socket: FrameSocket, hello: Hello) {
    this.socket = socket;
    this.hello = hello;
    socket.setHandler((text) => this.#dispatch(text));
    void socket.closed.then((c) => {
      for (const [, p] of this.#pending) {
        p.reject(new Error(`connection closed (code ${c.code}) before ${p.method} was answered`));
      }
      this.#pending.clear();
    });
  }

  /** Performs the handshake on an open socket; rejects with {@link ConnectRejected} when refused. */
  static async connect(socket: FrameSocket, opts: ConnectOptions): Promise<OpenClawConnection> {
    const first = opts.challenge ?? await socket.nextFrame(opts.timeoutMs);
    if (first === undefined) {
      throw new ConnectRejected({
        kind: "retry",
        afterMs: undefined,
        message: "no connect.challenge from the gateway",
      });
    }
    const challenge = parseFrame(first);
    const payload = challenge.type === "event" && challenge.event === "connect.challenge"
      ? challenge.payload as { nonce?: unknown; ts?: unknown }
      : undefined;
    if (typeof payload?.nonce !== "string" || typeof payload.ts !== "number") {
      throw new ConnectRejected({
        kind: "fatal",
        code: "PROTOCOL",
        message:
          "the gateway did not open with connect.challenge: not an OpenClaw gateway (try --protocol legacy)",
      });
    }
    const deviceToken = opts.useDeviceToken ? opts.identity.deviceToken : undefined;
    const credential = deviceToken ?? opts.token ?? "";
    const signature = await signText(
      opts.identity,
      signaturePayload({
        deviceId: opts.identity.deviceId,
        scopes: opts.scopes,
        signedAt: payload.ts,
        token: credential,
        nonce: payload.nonce,
        platform: opts.platform,
      }),
    );
    const params = connectParams({
      version: opts.version,
      platform: opts.platform,
      scopes: opts.scopes,
      ...(opts.caps !== undefined ? { caps: opts.caps } : {}),
      auth: deviceToken !== undefined
        ? { deviceToken }
        : opts.token !== undefined
        ? { token: opts.token }
        : {},
      device: {
        id: opts.identity.deviceId,
        publicKey: opts.identity.publicKey,
        signature,
        signedAt: payload.ts,
        nonce: payload.nonce,
      },
    });
    socket.send(JSON.stringify({ type: "req", id: "connect", method: "connect", params }));
    const deadline = Date.now() + opts.timeoutMs;
    while (true) {
      const text = await socket.nextFrame(Math.max(1, deadline - Date.now()));
      if (text === undefined) {
        throw new ConnectRejected({
          kind: "retry",
          afterMs: undefined,
          message: socket.isClosed
            ? "the gateway closed the connection during connect"
            : "no answer to connect",
        });
      }
      const f = parseFrame(text);
      if (f.type !== "res" || f.id !== "connect") continue; // events before hello are not for us
      if (!f.ok) {
        throw new ConnectRejected(classifyConnectError(f.error!, deviceToken !== undefined));
      }
      const hello = parseHello(f.payload);
      if (hello === undefined) {
        throw new ConnectRejected({
          kind: "fatal",
          code: "PROTOCOL",
          message: "the answer to connect was not hello-ok",
        });
      }
      return new OpenClawConnection(socket, hello);
    }
  }

  #dispatch(text: string): void {
    // Over the size the gateway itself negotiated: not parsed, only counted.
    if (text.length > (this.hello.maxPayload ?? DEFAULT_MAX_PAYLOAD)) {
      this.onInvalid?.("too_large");
      return;
    }
    const f = parseFrame(text);
    if (f.type === "res") {
      const p = this.#pending.get(f.id);
      if (p === undefined) return;
      this.#pending.delete(f.id);
      if (f.ok) p.resolve(f.payload);
      else p.reject(new RequestError(p.method, f.error!));
    } else if (f.type === "event") {
      this.onEvent?.(f, text);
    } else {
      this.onInvalid?.(f.reason);
    }
  }

  /** Sends a request and waits for its answer (at most `timeoutMs`). */
  request<T = unknown>(method: string, params: unknown = {}, timeoutMs = 30_000): Promise<T> {
    const id = `r${this.#nextId++}`;
    if (this.socket.isClosed) {
      return Promise.reject(new Error(`connection closed before ${method} was sent`));
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method} was not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.send(JSON.stringify({ type: "req", id, method, params }));
    });
  }

  /** Closes the connection. */
  close(code = 1000, reason = ""): void {
    this.socket.close(code, reason);
  }
}
