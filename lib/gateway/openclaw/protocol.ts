/**
 * The OpenClaw Gateway protocol (version 4) as the coordinator speaks it: frames, the
 * connect request and its device signature, connect errors, session keys, and agent
 * turns found in events and history. Pure: no socket, no clock, no key material.
 * @module
 */
import { uuidShaped } from "../../util/mod.ts";

/** The protocol version spoken; the gateway negotiates 4 for operators. */
export const PROTOCOL_VERSION = 4;
/** The oldest version offered in `connect` (the gateway answers with 4). */
export const MIN_PROTOCOL_VERSION = 3;
/** `client.id` and `client.mode` come from closed lists in the protocol schema. */
export const CLIENT_ID = "gateway-client";
/** The coordinator is a backend watcher. */
export const CLIENT_MODE = "backend";
/** The scope every connection asks for: watching needs nothing more. */
export const READ_SCOPE = "operator.read";
/** The scope that starts, aborts and patches sessions (and invokes nodes). */
export const WRITE_SCOPE = "operator.write";
/** OpenClaw's admin scope, which every method accepts in place of its own scope. */
export const ADMIN_SCOPE = "operator.admin";

/** Whether `granted` covers `scope` (admin covers every operator scope). */
export function covers(granted: readonly string[], scope: string): boolean {
  return granted.includes(scope) || granted.includes(ADMIN_SCOPE);
}

/** A request frame. */
export interface RequestFrame {
  /** Always `"req"`. */
  type: "req";
  /** Matches the response to the request. */
  id: string;
  /** The method called, e.g. `connect`. */
  method: string;
  /** The method's parameters. */
  params?: unknown;
}

/** An error in a response. */
export interface GatewayError {
  /** The gateway's error code, e.g. `AUTH_TOKEN_MISMATCH`. */
  code: string;
  /** The gateway's readable message. */
  message: string;
  /** More about it (may hold a finer `code`). */
  details?: Record<string, unknown>;
  /** Whether the same request may succeed later. */
  retryable?: boolean;
  /** How long to wait before retrying, in ms. */
  retryAfterMs?: number;
}

/** A response frame. */
export interface ResponseFrame {
  /** Always `"res"`. */
  type: "res";
  /** The id of the request it answers. */
  id: string;
  /** Whether the request succeeded. */
  ok: boolean;
  /** The result, when it succeeded. */
  payload?: unknown;
  /** Why it failed, when it did. */
  error?: GatewayError;
}

/** An event frame. */
export interface EventFrame {
  /** Always `"event"`. */
  type: "event";
  /** The event's name, e.g. `connect.challenge`. */
  event: string;
  /** The event's data. */
  payload?: unknown;
  /** The event's sequence number, when the gateway gives one. */
  seq?: number;
}

/** Any frame the gateway sends, or why a text is not one. */
export type ParsedFrame =
  | ResponseFrame
  | EventFrame
  | { type: "invalid"; reason: "not_json" | "not_object" | "bad_type" };

/** Parses a text frame from the gateway. */
export function parseFrame(text: string): ParsedFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { type: "invalid", reason: "not_json" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { type: "invalid", reason: "not_object" };
  }
  const f = v as Record<string, unknown>;
  if (f.type === "event" && typeof f.event === "string") return f as unknown as EventFrame;
  if (f.type === "res" && typeof f.id === "string" && typeof f.ok === "boolean") {
    if (!f.ok && !isGatewayError(f.error)) return { type: "invalid", reason: "bad_type" };
    return f as unknown as ResponseFrame;
  }
  return { type: "invalid", reason: "bad_type" };
}

function isGatewayError(e: unknown): e is GatewayError {
  return typeof e === "object" && e !== null && typeof (e as GatewayError).code === "string" &&
    typeof (e as GatewayError).message === "string";
}

/** The device fields of `connect`, given a signature made over {@link signaturePayload}. */
export interface DeviceProof {
  /** The device id (hex SHA-256 of the public key). */
  id: string;
  /** The raw public key, base64url. */
  publicKey: string;
  /** The signature over {@link signaturePayload}, base64url. */
  signature: string;
  /** The challenge's time, ms since the epoch. */
  signedAt: number;
  /** The challenge's nonce. */
  nonce: string;
}

/** What goes into a connect request. */
export interface ConnectInput {
  /** The coordinator's version. */
  version: string;
  /** The platform, e.g. `linux`. */
  platform: string;
  /** The scopes asked for. */
  scopes: readonly string[];
  /** The shared gateway token, or a device token issued earlier. */
  auth: { token?: string; deviceToken?: string };
  /** The device's proof of identity. */
  device: DeviceProof;
  /** Client capabilities (e.g. `exec-approvals`); none by default. */
  caps?: readonly string[];
}

/**
 * The string a device signs for `connect`:
 * `v3|deviceId|clientId|clientMode|role|scopes|signedAt|token|nonce|platform|deviceFamily`,
 * where token is the credential sent (shared token, else device token, else empty).
 */
export function signaturePayload(p: {
  deviceId: string;
  scopes: readonly string[];
  signedAt: number;
  token: string;
  nonce: string;
  platform: string;
  deviceFamily?: string;
}): string {
  return [
    "v3",
    p.deviceId,
    CLIENT_ID,
    CLIENT_MODE,
    "operator",
    p.scopes.join(","),
    String(p.signedAt),
    p.token,
    p.nonce,
    asciiLower(p.platform.trim()),
    asciiLower((p.deviceFamily ?? "").trim()),
  ].join("|");
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The `connect` request's params. */
export function connectParams(input: ConnectInput): Record<string, unknown> {
  const auth: Record<string, string> = {};
  if (input.auth.token !== undefined) auth.token = input.auth.token;
  if (input.auth.deviceToken !== undefined) auth.deviceToken = input.auth.deviceToken;
  return {
    minProtocol: MIN_PROTOCOL_VERSION,
    maxProtocol: PROTOCOL_VERSION,
    client: {
      id: CLIENT_ID,
      displayName: "moses-coordinator",
      version: input.version,
      platform: input.platform,
      mode: CLIENT_MODE,
    },
    role: "operator",
    scopes: [...input.scopes],
    ...(input.caps !== undefined && input.caps.length > 0 ? { caps: [...input.caps] } : {}),
    auth,
    device: input.device,
  };
}

/** What `hello-ok` tells the coordinator. */
export interface Hello {
  /** The protocol version agreed. */
  protocol: number;
  /** The gateway's version, when it says. */
  serverVersion: string | undefined;
  /** How often the gateway ticks, in ms (default 30 s). */
  tickIntervalMs: number;
  /** The largest frame the gateway accepts, in bytes, when it says. */
  maxPayload: number | undefined;
  /** The scopes granted. */
  scopes: string[];
  /** A device token issued for later connections (a secret), if any. */
  deviceToken: string | undefined;
}

/** Reads a `hello-ok` payload; undefined when it is not one. */
export function parseHello(payload: unknown): Hello | undefined {
  const p = payload as Record<string, unknown> | null;
  if (
    typeof p !== "object" || p === null || p.type !== "hello-ok" || typeof p.protocol !== "number"
  ) {
    return undefined;
  }
  const server = (p.server ?? {}) as Record<string, unknown>;
  const policy = (p.policy ?? {}) as Record<string, unknown>;
  const auth = (p.auth ?? {}) as Record<string, unknown>;
  const tick = policy.tickIntervalMs;
  return {
    protocol: p.protocol,
    serverVersion: typeof server.version === "string" ? server.version : undefined,
    tickIntervalMs: typeof tick === "number" && tick > 0 ? tick : 30_000,
    maxPayload: typeof policy.maxPayload === "number" ? policy.maxPayload : undefined,
    scopes: Array.isArray(auth.scopes) ? auth.scopes.filter((s) => typeof s === "string") : [],
    deviceToken: typeof auth.deviceToken === "string" && auth.deviceToken !== ""
      ? auth.deviceToken
      : undefined,
  };
}

/** What to do about a failed `connect`. */
export type ConnectFailure =
  | { kind: "retry"; afterMs: number | undefined; message: string }
  | { kind: "device_token_rejected"; message: string }
  | { kind: "fatal"; code: string; message: string };

const AUTH_HELP: Record<string, string> = {
  AUTH_TOKEN_MISMATCH:
    "the gateway token is wrong: set OPENCLAW_GATEWAY_TOKEN, or gateway.auth.token in openclaw.json, " +
    "to the gateway's token, then restart the coordinator",
  AUTH_TOKEN_MISSING:
    "no gateway token was sent: set OPENCLAW_GATEWAY_TOKEN, or gateway.auth.token in openclaw.json, " +
    "then restart the coordinator",
  AUTH_TOKEN_NOT_CONFIGURED:
    "the gateway has no token configured (gateway.auth.token): configure token auth on the gateway",
  AUTH_REQUIRED: "the gateway requires authentication: set OPENCLAW_GATEWAY_TOKEN, then restart",
  AUTH_UNAUTHORIZED:
    "the gateway refused the credentials: check OPENCLAW_GATEWAY_TOKEN, then restart",
  AUTH_SCOPE_MISMATCH:
    "the gateway will not grant operator.read to this device: approve it on the gateway",
  AUTH_RATE_LIMITED: "the gateway is limiting failed logins: fix the token, wait, then restart",
  PAIRING_REQUIRED:
    "the gateway requires this device to be paired: approve the pending device request on the gateway, then restart",
  PROTOCOL_MISMATCH:
    `the gateway does not speak protocol ${PROTOCOL_VERSION}: use an OpenClaw gateway that does, or --protocol legacy`,
};

/** Classifies a `connect` error: wait and retry, drop the device token, or stop. */
export function classifyConnectError(e: GatewayError, usedDeviceToken: boolean): ConnectFailure {
  const detail = e.details?.code;
  const code = typeof detail === "string" ? detail : e.code;
  if (e.retryable === true || e.code === "UNAVAILABLE") {
    return { kind: "retry", afterMs: e.retryAfterMs, message: e.message };
  }
  if (
    usedDeviceToken && (code === "AUTH_DEVICE_TOKEN_MISMATCH" || code === "AUTH_SCOPE_MISMATCH")
  ) {
    return { kind: "device_token_rejected", message: e.message };
  }
  const help = AUTH_HELP[code] ??
    (code.startsWith("DEVICE_AUTH_")
      ? "the gateway rejected the device signature: delete audits/moses/coordinator/device.json to make a new device, then restart"
      : "see the gateway's log");
  return { kind: "fatal", code, message: `${e.message} (${code}): ${help}` };
}

/** A session key split as OpenClaw writes it: `agent:<agentId>:<rest>`. */
export interface SessionKeyParts {
  /** The agent's id. */
  agentId: string;
  /** Everything after the agent id (the conversation part). */
  rest: string;
}

/** Splits `agent:<agentId>:<rest>`; undefined for keys of another form. */
export function parseSessionKey(key: string): SessionKeyParts | undefined {
  if (!key.startsWith("agent:")) return undefined;
  const second = key.indexOf(":", 6);
  if (second <= 6 || second === key.length - 1) return undefined;
  return { agentId: key.slice(6, second), rest: key.slice(second + 1) };
}

/** How a conversation is named from a session key (config `conversationFrom`). */
export type ConversationFrom = "rest" | "session";

/** One assistant turn seen in an event or in history. */
export interface Turn {
  /** The session key the turn belongs to. */
  sessionKey: string;
  /** The agent that answered. */
  agentId: string;
  /** The conversation, named from the session key as configured. */
  conversation: string;
  /** The same for every announcement of one turn: `run:<runId>` or `msg:<messageId>`. */
  key: string;
  /** The message's position in its session, when known. */
  seq: number | undefined;
  /** When the message was recorded (ms), when known. */
  at: number | undefined;
  /** The session's transcript id; a new one means the session was reset and seqs start over. */
  sessionId?: string;
  /**
   * The answer's text (the message's text parts; from history, the run's last message with
   * text), for the drift rule only: in memory, never written anywhere.
   */
  text?: string;
}

/** The text parts of an assistant message, joined by newlines; undefined when it has none. */
export function assistantText(msg: Record<string, unknown>): string | undefined {
  const c = msg.content;
  if (typeof c === "string") return c === "" ? undefined : c;
  if (!Array.isArray(c)) return undefined;
  const parts: string[] = [];
  for (const p of c) {
    const part = p as Record<string, unknown> | null;
    if (typeof part === "object" && part !== null && part.type === "text") {
      if (typeof part.text === "string" && part.text !== "") parts.push(part.text);
    }
  }
  return parts.length === 0 ? undefined : parts.join("\n");
}

function withText(t: Turn | NotATurn, msg: Record<string, unknown>): Turn | NotATurn {
  if (typeof t !== "object") return t;
  const text = assistantText(msg);
  if (text !== undefined) t.text = text;
  return t;
}

/** Why an event is not a turn. */
export type NotATurn = "not_a_turn" | "no_conversation" | "bad_type";

/**
 * A turn (or the base of a tool-call item) from a session key, an agent id, a key, and the
 * record's seq and time; or why it cannot be one.
 */
export function turnFrom(
  sessionKey: unknown,
  agentId: unknown,
  key: string,
  seq: unknown,
  at: unknown,
  from: ConversationFrom,
): Turn | NotATurn {
  if (typeof sessionKey !== "string" || sessionKey === "") return "no_conversation";
  const parts = parseSessionKey(sessionKey);
  const agent = typeof agentId === "string" && agentId !== "" ? agentId : parts?.agentId;
  if (agent === undefined) return "bad_type";
  const conversation = from === "session" || parts === undefined ? sessionKey : parts.rest;
  return {
    sessionKey,
    agentId: agent,
    conversation,
    key,
    seq: typeof seq === "number" ? seq : undefined,
    at: typeof at === "number" ? at : undefined,
  };
}

/** The turn key of a `chat` run id: injected messages are named by their message id. */
export function runTurnKey(runId: string): string {
  return runId.startsWith("inject-") ? `msg:${runId.slice(7)}` : `run:${runId}`;
}

/** The turn key of a transcript message (`__openclaw` metadata), or undefined. */
export function messageTurnKey(meta: unknown): string | undefined {
  const m = meta as Record<string, unknown> | null;
  if (typeof m !== "object" || m === null) return undefined;
  if (typeof m.runId === "string" && m.runId !== "") return `run:${m.runId}`;
  // A command's reply (e.g. /reset) has no runId; its idempotency key is the run's id, which
  // its chat final carries.
  if (typeof m.idempotencyKey === "string" && m.idempotencyKey !== "") {
    return runTurnKey(m.idempotencyKey);
  }
  if (typeof m.id === "string" && m.id !== "") return `msg:${m.id}`;
  return undefined;
}

/**
 * The turn an event announces: a `chat` event in state `final` with an assistant message,
 * or a `session.message` event with an assistant message. Other events are not turns.
 */
export function turnFromEvent(frame: EventFrame, from: ConversationFrom): Turn | NotATurn {
  const p = frame.payload as Record<string, unknown> | null;
  if (typeof p !== "object" || p === null) return "bad_type";
  if (frame.event === "chat") {
    if (p.state !== "final") return "not_a_turn";
    // A final with no assistant message (a silent run) is not an answer; a run that did answer
    // is also announced by its session.message events, under the same key.
    const msg = p.message as Record<string, unknown> | undefined;
    if (typeof msg !== "object" || msg === null || msg.role !== "assistant") return "not_a_turn";
    if (typeof p.runId !== "string" || p.runId === "") return "bad_type";
    return withText(
      turnFrom(p.sessionKey, p.agentId, runTurnKey(p.runId), undefined, msg.timestamp, from),
      msg,
    );
  }
  if (frame.event === "session.message") {
    const msg = p.message as Record<string, unknown> | null;
    if (typeof msg !== "object" || msg === null) return "bad_type";
    if (msg.role !== "assistant") return "not_a_turn";
    const meta = msg.__openclaw as Record<string, unknown> | undefined;
    const key = messageTurnKey(meta) ??
      (typeof p.messageId === "string" ? `msg:${p.messageId}` : undefined);
    if (key === undefined) return "bad_type";
    const t = turnFrom(
      p.sessionKey,
      p.agentId,
      key,
      meta?.seq ?? p.messageSeq,
      meta?.recordTimestampMs ?? msg.timestamp,
      from,
    );
    if (typeof t === "object" && typeof p.sessionId === "string") t.sessionId = p.sessionId;
    return withText(t, msg);
  }
  return "not_a_turn";
}

/** The turns in a `chat.history` page, oldest first, for one session. */
export function turnsFromHistory(
  sessionKey: string,
  agentId: string | undefined,
  messages: unknown,
  from: ConversationFrom,
  sessionId?: string,
): Turn[] {
  if (!Array.isArray(messages)) return [];
  const out: Turn[] = [];
  for (const m of messages) {
    if (
      typeof m !== "object" || m === null || (m as Record<string, unknown>).role !== "assistant"
    ) {
      continue;
    }
    const msg = m as Record<string, unknown>;
    const meta = msg.__openclaw as Record<string, unknown> | undefined;
    const key = messageTurnKey(meta);
    if (key === undefined) continue;
    const t = turnFrom(
      sessionKey,
      agentId,
      key,
      meta?.seq,
      meta?.recordTimestampMs ?? msg.timestamp,
      from,
    );
    if (typeof t !== "object") continue;
    if (sessionId !== undefined) t.sessionId = sessionId;
    out.push(withText(t, msg) as Turn);
  }
  return finalTexts(out);
}

// One run is one turn however many messages it holds, and the first one found is the one
// counted: each of a run's turns takes the text of its last message with text (the answer).
function finalTexts(turns: Turn[]): Turn[] {
  const last = new Map<string, string>();
  for (const t of turns) if (t.text !== undefined) last.set(t.key, t.text);
  for (const t of turns) {
    const text = last.get(t.key);
    if (text !== undefined) t.text = text;
  }
  return turns;
}

/**
 * A violation id derived from the turn (UUID-shaped, from SHA-256 of session key and turn
 * key): the same turn found again after a crash gets the same id, so it is not written twice.
 */
export function turnViolationId(
  sessionKey: string,
  turnKey: string,
  hash: (s: string) => string,
): string {
  const h = hash(`${sessionKey}\n${turnKey}`);
  return uuidShaped(h, "a");
}
