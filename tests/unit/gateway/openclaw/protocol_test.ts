import { assertEquals } from "../../../support/assert.ts";
import {
  classifyConnectError,
  connectParams,
  messageTurnKey,
  parseFrame,
  parseHello,
  parseSessionKey,
  runTurnKey,
  signaturePayload,
  turnFromEvent,
  turnsFromHistory,
  turnViolationId,
} from "../../../../lib/gateway/openclaw/protocol.ts";

Deno.test("the device signs the v3 payload with lower-cased platform and the credential sent", () => {
  assertEquals(
    signaturePayload({
      deviceId: "abc",
      scopes: ["operator.read"],
      signedAt: 1795264174225,
      token: "tok",
      nonce: "n-1",
      platform: " Linux ",
    }),
    "v3|abc|gateway-client|backend|operator|operator.read|1795264174225|tok|n-1|linux|",
  );
});

Deno.test("connect asks for protocols 3 to 4 as a backend gateway-client operator", () => {
  const p = connectParams({
    version: "0.1.0",
    platform: "linux",
    scopes: ["operator.read"],
    auth: { token: "t" },
    device: { id: "d", publicKey: "k", signature: "s", signedAt: 1, nonce: "n" },
  });
  assertEquals([p.minProtocol, p.maxProtocol, p.role, p.scopes], [3, 4, "operator", [
    "operator.read",
  ]]);
  assertEquals((p.client as Record<string, unknown>).id, "gateway-client");
  assertEquals((p.client as Record<string, unknown>).mode, "backend");
  assertEquals(p.auth, { token: "t" });
});

Deno.test("frames are classified, and what is not a frame says why", () => {
  assertEquals(parseFrame("nope"), { type: "invalid", reason: "not_json" });
  assertEquals(parseFrame("[1]"), { type: "invalid", reason: "not_object" });
  assertEquals(parseFrame('{"type":"res","id":"1","ok":false}'), {
    type: "invalid",
    reason: "bad_type",
  });
  assertEquals(parseFrame('{"type":"event","event":"tick","payload":{"ts":1}}').type, "event");
});

Deno.test("hello-ok gives the protocol, server version, tick interval and any device token", () => {
  const h = parseHello({
    type: "hello-ok",
    protocol: 4,
    server: { version: "2026.9.6" },
    policy: { tickIntervalMs: 30000, maxPayload: 26214400 },
    auth: { scopes: ["operator.read"], deviceToken: "dt" },
  });
  assertEquals(h, {
    protocol: 4,
    serverVersion: "2026.9.6",
    tickIntervalMs: 30000,
    maxPayload: 26214400,
    scopes: ["operator.read"],
    deviceToken: "dt",
  });
  assertEquals(parseHello({ type: "other" }), undefined);
});

Deno.test("connect errors: a starting gateway is retried, a wrong token is final with advice", () => {
  assertEquals(
    classifyConnectError({
      code: "UNAVAILABLE",
      message: "gateway starting; retry shortly",
      retryable: true,
      retryAfterMs: 500,
    }, false),
    { kind: "retry", afterMs: 500, message: "gateway starting; retry shortly" },
  );
  const wrong = classifyConnectError({
    code: "INVALID_REQUEST",
    message: "unauthorized: gateway token mismatch",
    details: { code: "AUTH_TOKEN_MISMATCH", recommendedNextStep: "retry_with_device_token" },
  }, false);
  assertEquals(wrong.kind, "fatal");
  assertEquals(
    wrong.kind === "fatal" && wrong.message.includes("set OPENCLAW_GATEWAY_TOKEN"),
    true,
  );
  assertEquals(
    classifyConnectError({
      code: "INVALID_REQUEST",
      message: "device token mismatch",
      details: { code: "AUTH_DEVICE_TOKEN_MISMATCH" },
    }, true).kind,
    "device_token_rejected",
  );
});

Deno.test("session keys split into agent and the shared rest, which may hold colons", () => {
  assertEquals(parseSessionKey("agent:secondary:telegram:group:42"), {
    agentId: "secondary",
    rest: "telegram:group:42",
  });
  assertEquals(parseSessionKey("main"), undefined);
  assertEquals(parseSessionKey("agent::x"), undefined);
  assertEquals(parseSessionKey("agent:primary:"), undefined);
});

const injectedChat = {
  type: "event" as const,
  event: "chat",
  payload: {
    runId: "inject-m1",
    sessionKey: "agent:observer:g1",
    agentId: "observer",
    seq: 0,
    state: "final",
    message: { role: "assistant", content: [], timestamp: 100 },
  },
};
const injectedMessage = {
  type: "event" as const,
  event: "session.message",
  payload: {
    sessionKey: "agent:observer:g1",
    agentId: "observer",
    message: {
      role: "assistant",
      timestamp: 100,
      __openclaw: { id: "m1", seq: 3, recordTimestampMs: 101 },
    },
    messageId: "m1",
    messageSeq: 3,
  },
};

Deno.test("a chat final and the session.message of one injected turn carry the same turn key", () => {
  const a = turnFromEvent(injectedChat, "rest");
  const b = turnFromEvent(injectedMessage, "rest");
  assertEquals(a, {
    sessionKey: "agent:observer:g1",
    agentId: "observer",
    conversation: "g1",
    key: "msg:m1",
    seq: undefined,
    at: 100,
  });
  assertEquals(b, {
    sessionKey: "agent:observer:g1",
    agentId: "observer",
    conversation: "g1",
    key: "msg:m1",
    seq: 3,
    at: 101,
  });
});

Deno.test("a real run's messages share the run's key with its chat final", () => {
  const run = turnFromEvent({
    type: "event",
    event: "session.message",
    payload: {
      sessionKey: "agent:secondary:r",
      message: { role: "assistant", __openclaw: { id: "x", seq: 2, runId: "run-7" } },
    },
  }, "rest");
  assertEquals(typeof run === "object" && run.key, runTurnKey("run-7"));
  assertEquals(typeof run === "object" && run.agentId, "secondary");
});

Deno.test("deltas, user messages, other events and keyless events are not turns", () => {
  assertEquals(
    turnFromEvent(
      { ...injectedChat, payload: { ...injectedChat.payload, state: "delta" } },
      "rest",
    ),
    "not_a_turn",
  );
  assertEquals(
    turnFromEvent({
      ...injectedMessage,
      payload: { ...injectedMessage.payload, message: { role: "user" } },
    }, "rest"),
    "not_a_turn",
  );
  assertEquals(
    turnFromEvent({ type: "event", event: "tick", payload: { ts: 1 } }, "rest"),
    "not_a_turn",
  );
  assertEquals(
    turnFromEvent(
      { ...injectedChat, payload: { ...injectedChat.payload, sessionKey: "" } },
      "rest",
    ),
    "no_conversation",
  );
  // A silent run's final carries no assistant message: nobody answered.
  const { message: _message, ...silent } = injectedChat.payload;
  assertEquals(turnFromEvent({ ...injectedChat, payload: silent }, "rest"), "not_a_turn");
});

Deno.test("conversationFrom session keeps each session its own conversation", () => {
  const t = turnFromEvent(injectedChat, "session");
  assertEquals(typeof t === "object" && t.conversation, "agent:observer:g1");
});

Deno.test("history yields assistant turns with their seq and record time, skipping the rest", () => {
  const turns = turnsFromHistory("agent:primary:g", "primary", [
    { role: "user", __openclaw: { id: "u", seq: 1 } },
    { role: "assistant", timestamp: 5, __openclaw: { id: "a", seq: 2, recordTimestampMs: 6 } },
    { role: "assistant", __openclaw: { id: "b", seq: 3, runId: "r1" } },
    { role: "assistant" },
  ], "rest");
  assertEquals(turns.map((t) => [t.key, t.seq, t.at]), [["msg:a", 2, 6], ["run:r1", 3, undefined]]);
});

Deno.test("a violation id comes from its turn: the same turn, the same id", async () => {
  const { sha256Hex } = await import("../../../../lib/util/hash.ts");
  const a = turnViolationId("agent:observer:g", "msg:m1", sha256Hex);
  assertEquals(a, turnViolationId("agent:observer:g", "msg:m1", sha256Hex));
  assertEquals(a === turnViolationId("agent:observer:g", "msg:m2", sha256Hex), false);
  assertEquals(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/.test(a), true);
});

Deno.test("a command reply without a run id is named by its idempotency key, like its chat final", () => {
  assertEquals(messageTurnKey({ id: "m9", idempotencyKey: "run-42" }), runTurnKey("run-42"));
  assertEquals(messageTurnKey({ id: "m9" }), "msg:m9");
});

Deno.test("a turn carries its message's text parts (not thinking, not tool calls) for the drift rule", () => {
  const final = turnFromEvent({
    type: "event",
    event: "chat",
    payload: {
      runId: "run-9",
      sessionKey: "agent:primary:d",
      state: "final",
      message: {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "private" },
          { type: "text", text: "First part." },
          { type: "toolCall", id: "c", name: "read", arguments: {} },
          { type: "text", text: "Second part." },
        ],
      },
    },
  }, "rest");
  assertEquals(typeof final === "object" && final.text, "First part.\nSecond part.");
  const plain = turnFromEvent({
    type: "event",
    event: "session.message",
    payload: {
      sessionKey: "agent:primary:d",
      message: { role: "assistant", content: "Plain string.", __openclaw: { runId: "run-9" } },
    },
  }, "rest");
  assertEquals(typeof plain === "object" && plain.text, "Plain string.");
  const toolOnly = turnFromEvent({
    type: "event",
    event: "session.message",
    payload: {
      sessionKey: "agent:primary:d",
      message: {
        role: "assistant",
        content: [{ type: "toolCall", id: "c", name: "read", arguments: {} }],
        __openclaw: { runId: "run-9" },
      },
    },
  }, "rest");
  assertEquals(typeof toolOnly === "object" && "text" in toolOnly, false);
});

Deno.test("from history, each of a run's turns takes the text of the run's last answer", () => {
  const turns = turnsFromHistory("agent:primary:g", "primary", [
    {
      role: "assistant",
      content: [{ type: "toolCall", id: "c", name: "read", arguments: {} }],
      __openclaw: { seq: 2, runId: "r1" },
    },
    { role: "toolResult", __openclaw: { seq: 3, runId: "r1" } },
    {
      role: "assistant",
      content: [{ type: "text", text: "The answer." }],
      __openclaw: { seq: 4, runId: "r1" },
    },
    { role: "assistant", content: "Another run.", __openclaw: { seq: 6, runId: "r2" } },
  ], "rest");
  assertEquals(turns.map((t) => [t.key, t.text]), [
    ["run:r1", "The answer."],
    ["run:r1", "The answer."],
    ["run:r2", "Another run."],
  ]);
});
