/**
 * Watching one authenticated OpenClaw connection: subscribe, catch up on what was missed
 * (the reconcile backstop), then turn live events into agent turns, each counted once.
 * Ends when the connection closes, the gateway announces a restart, or it falls silent.
 * @module
 */
import { type Clock, systemClock, type TimerId } from "../../util/mod.ts";
import type { OpenClawConnection } from "./connection.ts";
import {
  type ConversationFrom,
  type EventFrame,
  type Turn,
  turnFromEvent,
  turnsFromHistory,
} from "./protocol.ts";
import { orderTurns, type TurnTracker } from "./turn_tracker.ts";
import { isToolCallItem, ToolCallAssembler, toolCallsFromHistory } from "./tool_calls.ts";
import { runItemFromEvent, runItemsFromHistory } from "./run_events.ts";

/** Where a turn was learnt of. */
export type TurnSource = "live" | "catch-up";

/** Counters kept across connections, for status. */
export interface WatchCounters {
  /** Event frames received, by event name (the few the coordinator uses; the rest as "other"). */
  events: Record<string, number>;
  /** Announcements of a turn already counted. */
  duplicates: number;
  /** Turns found by catch-up rather than live. */
  caughtUp: number;
  /** Catch-up runs completed, and failed. */
  reconciles: number;
  /** Catch-up runs that failed. */
  reconcileFailures: number;
  /** Tool calls reported (live and caught up). */
  toolCalls: number;
  /** Gaps in the event sequence (events the gateway dropped for a slow reader). */
  eventGaps: number;
  /** Events missing in those gaps. */
  eventsMissed: number;
  /** Frames that were not valid protocol frames. */
  invalidFrames: number;
  /** The same, by reason: not_json, not_object, bad_type, too_large. */
  invalid: Record<string, number>;
}

/** A fresh set of counters. */
export function newWatchCounters(): WatchCounters {
  return {
    events: {},
    duplicates: 0,
    caughtUp: 0,
    reconciles: 0,
    reconcileFailures: 0,
    toolCalls: 0,
    eventGaps: 0,
    eventsMissed: 0,
    invalidFrames: 0,
    invalid: {},
  };
}

/** Requests on the connection in use, and the scopes the gateway granted on it. */
export interface GatewayRequests {
  /** The scopes granted in `hello-ok`. */
  readonly scopes: readonly string[];
  /** Sends a request and waits for its answer (rejects with the gateway's error). */
  request<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
}

/** Why watching ended. */
export interface WatchEnd {
  /** Why, in a few words (no secrets). */
  reason: string;
  /** The gateway announced a restart and said how long it expects to take. */
  plannedRestartMs?: number;
  /** The gateway announced it was stopping or restarting. */
  planned: boolean;
}

/** What the watcher needs. */
export interface WatchDeps {
  /** The authenticated connection to watch. */
  conn: OpenClawConnection;
  /** Which turns were counted already (kept across connections). */
  tracker: TurnTracker;
  /** Tool calls between their start and their result (kept across connections; default: one for this connection). */
  assembler?: ToolCallAssembler;
  /** Which session-key field names the conversation. */
  conversationFrom: ConversationFrom;
  /** Counters to add to (kept across connections). */
  counters: WatchCounters;
  /** Receives each new turn and each tool call (a tool-call item), in order. */
  onTurn(turn: Turn, source: TurnSource): void;
  /** Something worth a log line. */
  onNotice(level: "info" | "warn", msg: string, fields?: Record<string, unknown>): void;
  /** Called when a catch-up is done and live events flow (at connect, and after a gap). */
  onLive?(): void;
  /**
   * The connection's requests, once subscribed (before the catch-up), and `undefined` when
   * the connection has ended: what outputs (tool policy reads, enforcement, notices) act through.
   */
  onConnection?(requests: GatewayRequests | undefined): void;
  /** Every event frame, after the watcher's own handling (for parts that act on gateway state). */
  onGatewayEvent?(frame: EventFrame): void;
  /** Messages recorded more than this long before the coordinator last caught up are not looked at again. */
  slackMs?: number;
  /** Most messages fetched per session in one catch-up. */
  maxCatchUpPerSession?: number;
  /** The clock for the liveness check and the watermarks (default the system clock). */
  clock?: Clock;
  /** The time for the watermarks (default the clock's). */
  now?: () => number;
}

const TRACKED_EVENTS = new Set([
  "chat",
  "session.message",
  "sessions.changed",
  "tick",
  "shutdown",
  "agent",
  "session.tool",
]);
const HISTORY_PAGE = 200;

/** Runs until the connection ends; resolves with why. */
export async function watch(deps: WatchDeps): Promise<WatchEnd> {
  const { conn, tracker, counters } = deps;
  const assembler = deps.assembler ?? new ToolCallAssembler(deps.conversationFrom);
  const clock = deps.clock ?? systemClock;
  const now = deps.now ?? (() => clock.now());
  let live = false;
  const buffered: EventFrame[] = [];
  let planned: WatchEnd | undefined;
  let failure: string | undefined;
  let lastSeq: number | undefined;
  let syncing: Promise<void> | undefined;
  let syncAgain = false;

  const feed = (t: Turn, source: TurnSource) => {
    if (!tracker.isNew(t)) {
      counters.duplicates++;
      tracker.record(t); // a later announcement may carry the seq the first did not
      return;
    }
    tracker.record(t);
    if (source === "catch-up") counters.caughtUp++;
    if (isToolCallItem(t)) counters.toolCalls++;
    deps.onTurn(t, source);
  };
  const itemOf = (frame: EventFrame) => announced(frame, assembler, deps.conversationFrom);

  // Catch up (at connect, and after a gap), then feed what arrived meanwhile. Live events
  // are held while it runs so that nothing is fed before something recorded earlier.
  const sync = async () => {
    live = false;
    const catchUpFrom = now();
    const found = await catchUp({ ...deps, assembler });
    // Turns announced live while the catch-up ran go in with the ones it found, in the order
    // they were recorded (orderTurns), so a turn is never fed after a later one.
    const liveTurns = new Set<Turn>();
    for (const f of buffered.splice(0)) for (const t of itemOf(f)) liveTurns.add(t);
    for (const t of orderTurns([...found, ...liveTurns])) {
      feed(t, liveTurns.has(t) ? "live" : "catch-up");
    }
    counters.reconciles++;
    if (tracker.caughtUpAt < catchUpFrom) tracker.caughtUpAt = catchUpFrom;
    live = true;
  };
  const fail = (err: unknown) => {
    if (conn.socket.isClosed) return;
    // Going live without the catch-up would move the watermarks past the missed turns:
    // reconnect (with backoff) and try again instead.
    counters.reconcileFailures++;
    failure = `catch-up failed: ${(err as Error).message}`;
    deps.onNotice("warn", "catch-up failed; reconnecting to try again", {
      error: (err as Error).message,
    });
    conn.close(1011, "catch-up failed");
  };
  // A gap in the event sequence: the gateway dropped events for this reader. Catch up again
  // from history (once more if another gap comes meanwhile).
  // Runs catch-ups until no gap asks for another. `syncing` is cleared in the same step that
  // decides to stop, so a gap seen right after the last one starts a new run.
  const syncLoop = (): Promise<void> => {
    const run = (async () => {
      try {
        do {
          syncAgain = false;
          await sync();
          deps.onLive?.();
        } while (syncAgain && !conn.socket.isClosed);
      } finally {
        syncing = undefined;
      }
    })();
    syncing = run;
    return run;
  };
  const resync = () => {
    if (syncing !== undefined) {
      syncAgain = true;
      return;
    }
    syncLoop().catch(fail);
  };

  conn.onInvalid = (reason) => {
    counters.invalidFrames++;
    counters.invalid[reason] = (counters.invalid[reason] ?? 0) + 1;
  };
  conn.onEvent = (frame) => {
    const name = TRACKED_EVENTS.has(frame.event) ? frame.event : "other";
    counters.events[name] = (counters.events[name] ?? 0) + 1;
    let gap = false;
    if (typeof frame.seq === "number") {
      if (lastSeq !== undefined && frame.seq > lastSeq + 1) {
        counters.eventGaps++;
        counters.eventsMissed += frame.seq - lastSeq - 1;
        deps.onNotice("warn", "the gateway dropped events for the coordinator; catching up", {
          missed: frame.seq - lastSeq - 1,
        });
        gap = true;
      }
      lastSeq = frame.seq;
    }
    if (frame.event === "shutdown") {
      planned = plannedEnd(frame);
      return;
    }
    // While live, everything recorded up to now has been seen (events arrive in order).
    // Until the catch-up has succeeded nothing moves: a failed one is retried from here.
    if (live && !gap) tracker.caughtUpAt = now();
    if (frame.event === "session.message") assembler.noteMessage(frame.payload);
    const relevant = frame.event === "chat" || frame.event === "session.message" ||
      frame.event === "session.tool" || (frame.event === "agent" && isLifecycle(frame));
    if (gap) resync();
    if (relevant) {
      if (!live) buffered.push(frame);
      else for (const t of itemOf(frame)) feed(t, "live");
    }
    deps.onGatewayEvent?.(frame);
  };

  const liveness = watchLiveness(conn, clock);

  try {
    await conn.request("sessions.subscribe", {});
    deps.onConnection?.({
      scopes: conn.hello.scopes,
      request: (method, params, timeoutMs) => conn.request(method, params, timeoutMs),
    });
    // A gap seen while subscribing may have started one already.
    await (syncing ?? syncLoop());
  } catch (err) {
    fail(err);
  }

  const closed = await conn.socket.closed;
  liveness.stop();
  deps.onConnection?.(undefined);
  if (planned) return planned;
  if (liveness.silent) {
    return {
      reason: `no frame from the gateway for ${liveness.silenceMs / 1000} s`,
      planned: false,
    };
  }
  if (failure) return { reason: failure, planned: false };
  return {
    reason: `connection closed (code ${closed.code}${closed.reason ? `: ${closed.reason}` : ""})`,
    planned: false,
  };
}

// An agent frame of the run's lifecycle (the rest, text deltas and command output, announce
// nothing and are not held while a catch-up runs).
function isLifecycle(frame: EventFrame): boolean {
  return (frame.payload as { stream?: unknown } | undefined)?.stream === "lifecycle";
}

// The turns, tool calls and run starts and answers an event announces (most announce none).
function announced(
  frame: EventFrame,
  assembler: ToolCallAssembler,
  from: ConversationFrom,
): Turn[] {
  if (frame.event === "session.tool") {
    const item = assembler.onToolEvent(frame.payload);
    return typeof item === "object" ? [item] : [];
  }
  const out: Turn[] = [];
  if (frame.event !== "agent") {
    const t = turnFromEvent(frame, from);
    if (typeof t === "object") out.push(t);
  }
  const run = runItemFromEvent(frame, from);
  if (run !== undefined) out.push(run);
  return out;
}

// Why the gateway said it is going away.
function plannedEnd(frame: EventFrame): WatchEnd {
  const p = (frame.payload ?? {}) as { reason?: unknown; restartExpectedMs?: unknown };
  return {
    reason: `the gateway announced ${
      typeof p.reason === "string" ? `"${p.reason}"` : "a shutdown"
    }`,
    planned: true,
    ...(typeof p.restartExpectedMs === "number" ? { plannedRestartMs: p.restartExpectedMs } : {}),
  };
}

// Liveness: the gateway ticks every tickIntervalMs; silence for two of them is a dead link.
// One timer, armed for the moment the silence would be too long counted from the last
// frame: it wakes about once per tick interval, not on a fixed short period.
function watchLiveness(conn: OpenClawConnection, clock: Clock) {
  const silenceMs = 2 * conn.hello.tickIntervalMs;
  const state = {
    silent: false,
    silenceMs,
    stop: () => clock.clearTimeout(timer),
  };
  let timer: TimerId | undefined;
  const arm = () => {
    const due = conn.socket.lastFrameAt + silenceMs + 1 - clock.now();
    timer = clock.setTimeout(check, Math.max(1, due));
  };
  const check = () => {
    if (clock.now() - conn.socket.lastFrameAt > silenceMs) {
      state.silent = true;
      conn.close(4000, "tick timeout");
      return;
    }
    arm();
  };
  arm();
  return state;
}

interface SessionRow {
  key: string;
  agentId: string | undefined;
  updatedAt: number | undefined;
  sessionId: string | undefined;
}

/**
 * The reconcile backstop: every session touched since the coordinator last caught up is
 * read back from its history; the turns not yet counted are returned session by session,
 * each oldest first, for {@link orderTurns} to order with the live ones. On the very first run there is nothing to catch up with: what happened before
 * the coordinator was installed is not its to judge.
 */
async function catchUp(deps: WatchDeps & { assembler: ToolCallAssembler }): Promise<Turn[]> {
  const { conn, tracker } = deps;
  if (tracker.caughtUpAt < 0) return [];
  const since = tracker.caughtUpAt - (deps.slackMs ?? 5_000);
  const rows = await listSessions(conn, since);
  const found: Turn[] = [];
  for (const row of rows) found.push(...await historySince(conn, row, since, deps));
  return found;
}

async function listSessions(conn: OpenClawConnection, since: number): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  for (let offset = 0;;) {
    const page = await conn.request<
      { sessions?: unknown[]; hasMore?: boolean; nextOffset?: number | null }
    >("sessions.list", { limit: 100, offset, sortBy: "updatedAt" });
    let older = false;
    for (const r of page.sessions ?? []) {
      const row = r as Record<string, unknown>;
      if (typeof row.key !== "string") continue;
      const updatedAt = typeof row.updatedAt === "number" ? row.updatedAt : undefined;
      if (updatedAt !== undefined && updatedAt < since) {
        // Newest first, pinned sessions ahead of the rest: only an old unpinned row says
        // that the rows after it are old too.
        if (row.pinned !== true) older = true;
        continue;
      }
      rows.push({
        key: row.key,
        agentId: typeof row.agentId === "string" ? row.agentId : undefined,
        updatedAt,
        sessionId: typeof row.sessionId === "string" ? row.sessionId : undefined,
      });
    }
    if (
      older || !page.hasMore || typeof page.nextOffset !== "number" || page.nextOffset <= offset
    ) {
      break;
    }
    offset = page.nextOffset;
  }
  return rows;
}

// Pages back through a session's history until it reaches turns already counted, or older
// than the catch-up window; returns the turns not yet counted, oldest first.
async function historySince(
  conn: OpenClawConnection,
  row: SessionRow,
  since: number,
  deps: WatchDeps & { assembler: ToolCallAssembler },
): Promise<Turn[]> {
  const { assembler } = deps;
  const { tracker } = deps;
  const max = deps.maxCatchUpPerSession ?? 10_000;
  const known = tracker.knows(row.key);
  const pages: Turn[][] = [];
  const rawPages: unknown[][] = [];
  let sessionId = row.sessionId;
  let permissionMode: string | undefined;
  let count = 0;
  for (let offset = 0;;) {
    const page = await conn.request<{
      messages?: unknown;
      hasMore?: boolean;
      nextOffset?: number;
      sessionId?: unknown;
      sessionInfo?: { permissionMode?: unknown };
    }>(
      "chat.history",
      { sessionKey: row.key, limit: HISTORY_PAGE, ...(offset > 0 ? { offset } : {}) },
    );
    if (typeof page.sessionId === "string") sessionId = page.sessionId;
    const mode = page.sessionInfo?.permissionMode;
    if (permissionMode === undefined && typeof mode === "string") permissionMode = mode;
    if (Array.isArray(page.messages)) rawPages.unshift(page.messages);
    const turns = turnsFromHistory(
      row.key,
      row.agentId,
      page.messages,
      deps.conversationFrom,
      sessionId,
    );
    pages.unshift(turns);
    count += turns.length;
    const oldest = turns[0];
    const reachedKnown = oldest !== undefined && known && !tracker.isNew(oldest);
    const reachedOld = oldest !== undefined && oldest.at !== undefined && oldest.at < since;
    if (reachedKnown || reachedOld || !page.hasMore || typeof page.nextOffset !== "number") break;
    if (count >= max) {
      deps.onNotice("warn", "catch-up stopped early: too many messages in one session", {
        session: row.key,
        fetched: count,
      });
      break;
    }
    offset = page.nextOffset;
  }
  // Tool calls are paired with their results across pages, then placed among the turns by
  // their position in the transcript.
  const calls = toolCallsFromHistory(row.key, row.agentId, rawPages.flat(), {
    from: deps.conversationFrom,
    ...(sessionId !== undefined ? { sessionId } : {}),
    ...(permissionMode !== undefined ? { permissionMode } : {}),
  });
  // A session the coordinator knows: whatever it has not counted. One it does not know: what
  // was recorded since it last caught up.
  const wanted = (t: Turn) => known ? tracker.isNew(t) : t.at === undefined || t.at >= since;
  for (const open of calls.open) if (wanted(open)) assembler.noteOpen(open);
  for (const done of calls.done) assembler.forget(done);
  const runs = runItemsFromHistory(row.key, row.agentId, rawPages.flat(), {
    from: deps.conversationFrom,
    ...(sessionId !== undefined ? { sessionId } : {}),
  });
  return bySeq([...pages.flat(), ...calls.done, ...runs]).filter(wanted);
}

// Items of one transcript in seq order (stable; an item without a seq keeps its place after
// the one before it).
function bySeq(items: Turn[]): Turn[] {
  let carried = -Infinity;
  const keyed = items.map((t, i) => {
    if (t.seq !== undefined) carried = t.seq;
    return { t, seq: t.seq ?? carried, i };
  });
  keyed.sort((a, b) => a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : a.i - b.i);
  return keyed.map((k) => k.t);
}
