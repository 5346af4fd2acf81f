/**
 * watch() against a scripted connection: the ordering, catch-up and paging rules that a
 * real gateway cannot be made to show on demand. Time is a FakeClock; "the catch-up is
 * done" is WatchDeps.onLive.
 */
import { assertEquals } from "../../../support/assert.ts";
import { newWatchCounters, watch, type WatchEnd } from "../../../../lib/gateway/openclaw/watch.ts";
import { TurnTracker } from "../../../../lib/gateway/openclaw/turn_tracker.ts";
import type { OpenClawConnection } from "../../../../lib/gateway/openclaw/connection.ts";
import type { Turn } from "../../../../lib/gateway/openclaw/protocol.ts";
import { isToolCallItem } from "../../../../lib/gateway/openclaw/tool_calls.ts";
import { FakeClock } from "../../../support/fake_clock.ts";

type Handler = (
  method: string,
  params: Record<string, unknown>,
  conn: FakeConnection,
) => unknown;

/** Just enough of an OpenClawConnection for watch(). */
class FakeConnection {
  onEvent: ((f: unknown, t: string) => void) | undefined;
  onInvalid: (() => void) | undefined;
  hello = { tickIntervalMs: 30_000 };
  closedWith: number | undefined;
  #resolve!: (c: { code: number; reason: string }) => void;
  socket: {
    lastFrameAt: number;
    isClosed: boolean;
    closed: Promise<{ code: number; reason: string }>;
  };
  constructor(readonly clock: FakeClock, readonly handler: Handler) {
    this.socket = {
      lastFrameAt: clock.now(),
      isClosed: false,
      closed: new Promise((r) => (this.#resolve = r)),
    };
  }
  request(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    // As a gateway would: answers arrive later, and a failure is a rejection.
    return Promise.resolve().then(() => this.handler(method, params, this));
  }
  emit(event: string, payload: unknown, seq?: number) {
    this.socket.lastFrameAt = this.clock.now();
    this.onEvent?.({ type: "event", event, payload, ...(seq !== undefined ? { seq } : {}) }, "");
  }
  close(code = 1000) {
    if (this.socket.isClosed) return;
    this.closedWith = code;
    this.socket.isClosed = true;
    this.#resolve({ code, reason: "" });
  }
}

const message = (agent: string, conversation: string, id: string, seq: number, at: number) => ({
  sessionKey: `agent:${agent}:${conversation}`,
  agentId: agent,
  sessionId: `sid-${agent}`,
  messageId: id,
  messageSeq: seq,
  message: { role: "assistant", timestamp: at, __openclaw: { id, seq, recordTimestampMs: at } },
});

const history = (ms: ReturnType<typeof message>[], sessionId?: string) => ({
  sessionId: sessionId ?? ms[0]?.sessionId,
  messages: ms.map((m) => m.message),
  hasMore: false,
});

function start(conn: FakeConnection, tracker: TurnTracker) {
  const fed: string[] = [];
  const keys: string[] = [];
  const counters = newWatchCounters();
  let wentLive!: () => void;
  const live = new Promise<void>((r) => (wentLive = r));
  const done: Promise<WatchEnd> = watch({
    conn: conn as unknown as OpenClawConnection,
    tracker,
    conversationFrom: "rest",
    counters,
    clock: conn.clock,
    onTurn: (t: Turn, source) => {
      fed.push(`${t.agentId}:${source}`);
      keys.push(t.key);
    },
    onNotice: () => {},
    onLive: () => wentLive(),
  });
  return { fed, keys, done, counters, live };
}

Deno.test("turns announced live during a catch-up are fed in recorded order with the ones it found", async () => {
  const clock = new FakeClock();
  const T = clock.now();
  const tracker = new TurnTracker();
  tracker.caughtUpAt = T - 60_000;
  for (const a of ["primary", "secondary", "observer"]) {
    tracker.record({
      sessionKey: `agent:${a}:g`,
      agentId: a,
      conversation: "g",
      key: `msg:${a}0`,
      seq: 1,
      at: T - 61_000,
      sessionId: `sid-${a}`,
    });
  }
  const p1 = message("primary", "g", "p1", 2, T - 30_000); // during the outage
  const conn = new FakeConnection(clock, (method, params, c) => {
    if (method === "sessions.subscribe") return { subscribed: true };
    if (method === "sessions.list") {
      return {
        sessions: ["primary", "secondary", "observer"].map((a) => ({
          key: `agent:${a}:g`,
          agentId: a,
          updatedAt: T - 30_000,
          sessionId: `sid-${a}`,
        })),
        hasMore: false,
      };
    }
    const key = params.sessionKey as string;
    if (key === "agent:primary:g") return history([p1]);
    if (key === "agent:secondary:g") return history([], "sid-secondary");
    // After the secondary session was read and before the observer session is: secondary
    // answers, then observer, both announced live; the observer's turn is in its history too.
    c.emit("session.message", message("secondary", "g", "s1", 2, T));
    const o1 = message("observer", "g", "o1", 2, T + 1);
    c.emit("session.message", o1);
    return history([o1]);
  });
  const { fed, done, live } = start(conn, tracker);
  await live;
  conn.close();
  await done;
  assertEquals(fed, ["primary:catch-up", "secondary:live", "observer:catch-up"]);
});

Deno.test("a turn without a record time keeps its place among its session's turns in a catch-up", async () => {
  const clock = new FakeClock();
  const T = clock.now();
  const tracker = new TurnTracker();
  tracker.caughtUpAt = T - 60_000;
  for (const a of ["primary", "observer"]) {
    tracker.record({
      sessionKey: `agent:${a}:n`,
      agentId: a,
      conversation: "n",
      key: `msg:${a}0`,
      seq: 1,
      at: T - 61_000,
      sessionId: `sid-${a}`,
    });
  }
  const o1 = message("observer", "n", "o1", 2, T - 40_000);
  // Recorded after o1 and before o3, but the history row carries no time.
  const o2 = { role: "assistant", __openclaw: { id: "o2", seq: 3 } };
  const o3 = message("observer", "n", "o3", 4, T - 10_000);
  const p1 = message("primary", "n", "p1", 2, T - 20_000);
  const conn = new FakeConnection(clock, (method, params) => {
    if (method === "sessions.subscribe") return { subscribed: true };
    if (method === "sessions.list") {
      return {
        sessions: ["observer", "primary"].map((a) => ({
          key: `agent:${a}:n`,
          agentId: a,
          updatedAt: T - 10_000,
          sessionId: `sid-${a}`,
        })),
        hasMore: false,
      };
    }
    if (params.sessionKey === "agent:primary:n") return history([p1]);
    return {
      sessionId: "sid-observer",
      messages: [o1.message, o2, o3.message],
      hasMore: false,
    };
  });
  const { keys, done, live } = start(conn, tracker);
  await live;
  conn.close();
  await done;
  // Fed after o3 (as the old order did), o2 was below the session's watermark and lost.
  assertEquals(keys, ["msg:o1", "msg:o2", "msg:p1", "msg:o3"]);
});

Deno.test("a failed catch-up reconnects without moving any watermark, and the next one finds the turn", async () => {
  const clock = new FakeClock();
  const T = clock.now();
  const tracker = new TurnTracker();
  tracker.caughtUpAt = T - 60_000;
  tracker.record({
    sessionKey: "agent:observer:h",
    agentId: "observer",
    conversation: "h",
    key: "msg:o0",
    seq: 1,
    at: T - 70_000,
    sessionId: "sid-observer",
  });
  const missed = message("observer", "h", "o-missed", 2, T - 30_000);
  let fail = true;
  const handler: Handler = (method) => {
    if (method === "sessions.subscribe") return { subscribed: true };
    if (method === "sessions.list") {
      if (fail) throw new Error("sessions.list failed: worker task capacity reached (UNAVAILABLE)");
      return {
        sessions: [{
          key: "agent:observer:h",
          agentId: "observer",
          updatedAt: T - 30_000,
          sessionId: "sid-observer",
        }],
        hasMore: false,
      };
    }
    return history([missed]);
  };
  const first = new FakeConnection(clock, handler);
  const r1 = start(first, tracker);
  first.emit("tick", { ts: T });
  first.emit("session.message", message("observer", "h", "o-live", 3, T));
  const end = await r1.done;
  assertEquals(first.closedWith, 1011);
  assertEquals(end.reason.startsWith("catch-up failed"), true);
  assertEquals(tracker.caughtUpAt, T - 60_000);
  assertEquals(r1.fed, []);
  assertEquals(r1.counters.reconcileFailures, 1);
  fail = false;
  const second = new FakeConnection(clock, handler);
  const r2 = start(second, tracker);
  await r2.live;
  second.close();
  await r2.done;
  assertEquals(r2.fed, ["observer:catch-up"]);
});

Deno.test("an old pinned session does not stop the paging of sessions.list", async () => {
  const clock = new FakeClock();
  const T = clock.now();
  const tracker = new TurnTracker();
  tracker.caughtUpAt = T - 60_000;
  const late = message("observer", "late", "v", 1, T - 10_000);
  const pages = [
    {
      sessions: [{
        key: "agent:primary:pinned",
        agentId: "primary",
        updatedAt: T - 86_400_000,
        pinned: true,
      }, { key: "agent:primary:x", agentId: "primary", updatedAt: T - 1000 }],
      hasMore: true,
      nextOffset: 2,
    },
    {
      sessions: [{ key: "agent:observer:late", agentId: "observer", updatedAt: T - 10_000 }],
      hasMore: false,
    },
  ];
  const conn = new FakeConnection(clock, (method, params) => {
    if (method === "sessions.subscribe") return { subscribed: true };
    if (method === "sessions.list") return pages[(params.offset as number) === 0 ? 0 : 1];
    if (params.sessionKey === "agent:observer:late") return history([late]);
    return history([]);
  });
  const { fed, done, live } = start(conn, tracker);
  await live;
  conn.close();
  await done;
  assertEquals(fed, ["observer:catch-up"]);
});

Deno.test("a shutdown event ends watching as a planned restart with the expected delay", async () => {
  const clock = new FakeClock();
  const tracker = new TurnTracker();
  const conn = new FakeConnection(
    clock,
    (method) =>
      method === "sessions.subscribe" ? { subscribed: true } : { sessions: [], hasMore: false },
  );
  const { done, live } = start(conn, tracker);
  await live;
  conn.emit("shutdown", { reason: "gateway restarting", restartExpectedMs: 1500 });
  conn.close(1012);
  const end = await done;
  assertEquals([end.planned, end.plannedRestartMs], [true, 1500]);
});

Deno.test("the first run ever feeds nothing from history and starts watching from now", async () => {
  const clock = new FakeClock();
  const tracker = new TurnTracker();
  let historyAsked = false;
  const conn = new FakeConnection(clock, (method) => {
    if (method === "chat.history") historyAsked = true;
    return method === "sessions.subscribe"
      ? { subscribed: true }
      : { sessions: [], hasMore: false };
  });
  const { fed, done, live } = start(conn, tracker);
  await live;
  assertEquals(tracker.caughtUpAt, clock.now());
  await clock.tick(1000);
  conn.emit("chat", {
    runId: "inject-a",
    sessionKey: "agent:observer:z",
    agentId: "observer",
    state: "final",
    message: { role: "assistant" },
  });
  conn.close();
  await done;
  assertEquals(historyAsked, false);
  assertEquals(fed, ["observer:live"]);
  assertEquals(tracker.caughtUpAt, clock.now(), "a live event moves the watermark to its time");
});

Deno.test("a gateway silent for two tick intervals is closed as dead, one that ticks is not", async () => {
  const clock = new FakeClock();
  const conn = new FakeConnection(
    clock,
    (method) =>
      method === "sessions.subscribe" ? { subscribed: true } : { sessions: [], hasMore: false },
  );
  const { done, live } = start(conn, new TurnTracker());
  await live;
  for (let i = 0; i < 3; i++) {
    await clock.tick(30_000);
    conn.emit("tick", { ts: clock.now() });
  }
  assertEquals(conn.closedWith, undefined, "closed while the gateway ticked");
  await clock.tick(60_000);
  assertEquals(conn.closedWith, undefined, "closed at exactly two intervals of silence");
  await clock.tick(7_500); // the next check
  assertEquals(conn.closedWith, 4000);
  const end = await done;
  assertEquals(end, { reason: "no frame from the gateway for 60 s", planned: false });
});

Deno.test("a gap in the event seq is counted and catches up from history, which finds the dropped tool call", async () => {
  const clock = new FakeClock();
  const T = clock.now();
  const tracker = new TurnTracker();
  tracker.caughtUpAt = T - 10_000;
  const key = "agent:primary:g";
  tracker.record({
    sessionKey: key,
    agentId: "primary",
    conversation: "g",
    key: "x",
    seq: 1,
    at: T - 20_000,
  });
  let dropped = false;
  const historyMessages = () =>
    dropped
      ? [
        {
          role: "assistant",
          content: [{ type: "toolCall", id: "c1", name: "write", arguments: { path: "a" } }],
          __openclaw: { runId: "r1", id: "m2", seq: 2, recordTimestampMs: T + 1 },
        },
        {
          role: "toolResult",
          toolCallId: "c1",
          toolName: "write",
          isError: false,
          content: [],
          __openclaw: { runId: "r1", id: "m3", seq: 3, recordTimestampMs: T + 2 },
        },
      ]
      : [];
  const conn = new FakeConnection(clock, (method) => {
    if (method === "sessions.subscribe") return { subscribed: true };
    if (method === "sessions.list") {
      return { sessions: [{ key, agentId: "primary", updatedAt: clock.now() }], hasMore: false };
    }
    return { sessionId: "s", messages: historyMessages(), hasMore: false };
  });
  const counters = newWatchCounters();
  const fed: string[] = [];
  let lives = 0;
  let onLive: () => void = () => {};
  const done = watch({
    conn: conn as unknown as OpenClawConnection,
    tracker,
    conversationFrom: "rest",
    counters,
    clock,
    onTurn: (t: Turn, source) => fed.push(`${isToolCallItem(t) ? t.call.tool : t.key}:${source}`),
    onNotice: () => {},
    onLive: () => {
      lives++;
      onLive();
    },
  });
  const nextLive = () => new Promise<void>((r) => (onLive = r));
  let live = nextLive();
  await live;
  conn.emit("tick", {}, 1);
  conn.emit("tick", {}, 2);
  assertEquals(counters.eventGaps, 0);
  // The gateway dropped seq 3 (the write's session.tool result) for a slow reader.
  dropped = true;
  live = nextLive();
  conn.emit("tick", {}, 4);
  await live;
  assertEquals([counters.eventGaps, counters.eventsMissed, counters.reconciles], [1, 1, 2]);
  assertEquals(fed, ["run:r1:catch-up", "write:catch-up"]);
  assertEquals(counters.toolCalls, 1);
  assertEquals(lives, 2);
  conn.close();
  await done;
});

Deno.test("the liveness check wakes about once per tick of the gateway, not on a short period", async () => {
  const clock = new FakeClock();
  const conn = new FakeConnection(
    clock,
    (method) =>
      method === "sessions.subscribe" ? { subscribed: true } : { sessions: [], hasMore: false },
  );
  const { done, live } = start(conn, new TurnTracker());
  await live;
  const before = clock.fired;
  for (let i = 0; i < 20; i++) { // ten minutes of ticks every 30 s
    await clock.tick(30_000);
    conn.emit("tick", { ts: clock.now() });
  }
  assertEquals(conn.closedWith, undefined);
  // Armed for 60 s after the last frame: at most one wake-up per tick interval.
  const wakes = clock.fired - before;
  assertEquals(wakes <= 20, true, `${wakes} wake-ups in ten minutes`);
  conn.close();
  await done;
});

Deno.test("watch hands out the connection's requests once subscribed, every event, and undefined at the end", async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const conn = new FakeConnection(clock, (method) => {
    calls.push(method);
    if (method === "sessions.list") return { sessions: [], hasMore: false };
    if (method === "config.get") return { parsed: { tools: null } };
    return {};
  });
  (conn.hello as { scopes?: string[] }).scopes = ["operator.read", "operator.write"];
  const seen: (readonly string[] | undefined)[] = [];
  const frames: string[] = [];
  let requests: { request: (m: string) => Promise<unknown> } | undefined;
  let wentLive!: () => void;
  const live = new Promise<void>((r) => (wentLive = r));
  const done = watch({
    conn: conn as unknown as OpenClawConnection,
    tracker: new TurnTracker(),
    conversationFrom: "rest",
    counters: newWatchCounters(),
    clock,
    onTurn: () => {},
    onNotice: () => {},
    onLive: () => wentLive(),
    onConnection: (r) => {
      seen.push(r?.scopes);
      if (r !== undefined) requests = r;
    },
    onGatewayEvent: (f) => frames.push(f.event),
  });
  await live;
  assertEquals(seen, [["operator.read", "operator.write"]]);
  assertEquals(calls[0], "sessions.subscribe");
  assertEquals(await requests!.request("config.get"), { parsed: { tools: null } });
  conn.emit("sessions.changed", { reason: "create" });
  conn.emit("tick", {});
  assertEquals(frames, ["sessions.changed", "tick"]);
  conn.close();
  await done;
  assertEquals(seen, [["operator.read", "operator.write"], undefined]);
});
