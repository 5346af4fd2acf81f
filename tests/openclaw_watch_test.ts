/**
 * watch() against a scripted connection: the ordering, catch-up and paging rules that a
 * real gateway cannot be made to show on demand.
 */
import { assertEquals } from "./support/assert.ts";
import { newWatchCounters, watch, type WatchEnd } from "../lib/gateway/openclaw/watch.ts";
import { TurnTracker } from "../lib/gateway/openclaw/turn_tracker.ts";
import type { OpenClawConnection } from "../lib/gateway/openclaw/connection.ts";
import type { Turn } from "../lib/gateway/openclaw/protocol.ts";

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
  socket = {
    lastFrameAt: Date.now(),
    isClosed: false,
    closed: new Promise<{ code: number; reason: string }>((r) => (this.#resolve = r)),
  };
  constructor(readonly handler: Handler) {}
  request(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    // As a gateway would: answers arrive later, and a failure is a rejection.
    return Promise.resolve().then(() => this.handler(method, params, this));
  }
  emit(event: string, payload: unknown) {
    this.socket.lastFrameAt = Date.now();
    this.onEvent?.({ type: "event", event, payload }, "");
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
  const counters = newWatchCounters();
  const done: Promise<WatchEnd> = watch({
    conn: conn as unknown as OpenClawConnection,
    tracker,
    conversationFrom: "rest",
    counters,
    onTurn: (t: Turn, source) => fed.push(`${t.agentId}:${source}`),
    onNotice: () => {},
  });
  return { fed, done, counters };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

Deno.test("turns announced live during a catch-up are fed in recorded order with the ones it found", async () => {
  const T = Date.now();
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
  let observerNow: ReturnType<typeof message>[] = [];
  const conn = new FakeConnection(async (method, params, c) => {
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
    if (key === "agent:secondary:g") {
      // Just after this session is read, secondary answers, then observer: both live.
      setTimeout(() => {
        c.emit("session.message", message("secondary", "g", "s1", 2, Date.now()));
        const o1 = message("observer", "g", "o1", 2, Date.now() + 1);
        observerNow = [o1];
        c.emit("session.message", o1);
      }, 0);
      return history([], "sid-secondary");
    }
    await new Promise((r) => setTimeout(r, 20)); // the observer session is read a moment later
    return history(observerNow, "sid-observer");
  });
  const { fed, done } = start(conn, tracker);
  await settle();
  conn.close();
  await done;
  assertEquals(fed, ["primary:catch-up", "secondary:live", "observer:catch-up"]);
});

Deno.test("a failed catch-up reconnects without moving any watermark, and the next one finds the turn", async () => {
  const T = Date.now();
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
  const first = new FakeConnection(handler);
  const r1 = start(first, tracker);
  first.emit("tick", { ts: Date.now() });
  first.emit("session.message", message("observer", "h", "o-live", 3, Date.now()));
  const end = await r1.done;
  assertEquals(first.closedWith, 1011);
  assertEquals(end.reason.startsWith("catch-up failed"), true);
  assertEquals(tracker.caughtUpAt, T - 60_000);
  assertEquals(r1.fed, []);
  assertEquals(r1.counters.reconcileFailures, 1);
  fail = false;
  const second = new FakeConnection(handler);
  const r2 = start(second, tracker);
  await settle();
  second.close();
  await r2.done;
  assertEquals(r2.fed, ["observer:catch-up"]);
});

Deno.test("an old pinned session does not stop the paging of sessions.list", async () => {
  const T = Date.now();
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
  const conn = new FakeConnection((method, params) => {
    if (method === "sessions.subscribe") return { subscribed: true };
    if (method === "sessions.list") return pages[(params.offset as number) === 0 ? 0 : 1];
    if (params.sessionKey === "agent:observer:late") return history([late]);
    return history([]);
  });
  const { fed, done } = start(conn, tracker);
  await settle();
  conn.close();
  await done;
  assertEquals(fed, ["observer:catch-up"]);
});

Deno.test("a shutdown event ends watching as a planned restart with the expected delay", async () => {
  const tracker = new TurnTracker();
  const conn = new FakeConnection((method) =>
    method === "sessions.subscribe" ? { subscribed: true } : { sessions: [], hasMore: false }
  );
  const { done } = start(conn, tracker);
  await settle();
  conn.emit("shutdown", { reason: "gateway restarting", restartExpectedMs: 1500 });
  conn.close(1012);
  const end = await done;
  assertEquals([end.planned, end.plannedRestartMs], [true, 1500]);
});

Deno.test("the first run ever feeds nothing from history and starts watching from now", async () => {
  const tracker = new TurnTracker();
  let historyAsked = false;
  const conn = new FakeConnection((method) => {
    if (method === "chat.history") historyAsked = true;
    return method === "sessions.subscribe"
      ? { subscribed: true }
      : { sessions: [], hasMore: false };
  });
  const before = Date.now();
  const { fed, done } = start(conn, tracker);
  await settle();
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
  assertEquals(tracker.caughtUpAt >= before, true);
});
