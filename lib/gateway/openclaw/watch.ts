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
    invalidFrames: 0,
    invalid: {},
  };
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
  /** Which session-key field names the conversation. */
  conversationFrom: ConversationFrom;
  /** Counters to add to (kept across connections). */
  counters: WatchCounters;
  /** Receives each new turn, in order. */
  onTurn(turn: Turn, source: TurnSource): void;
  /** Something worth a log line. */
  onNotice(level: "info" | "warn", msg: string, fields?: Record<string, unknown>): void;
  /** Called when the catch-up is done and live events flow. */
  onLive?(): void;
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
]);
const HISTORY_PAGE = 200;

/** Runs until the connection ends; resolves with why. */
export async function watch(deps: WatchDeps): Promise<WatchEnd> {
  const { conn, tracker, counters } = deps;
  const clock = deps.clock ?? systemClock;
  const now = deps.now ?? (() => clock.now());
  let live = false;
  const buffered: EventFrame[] = [];
  let planned: WatchEnd | undefined;
  let failure: string | undefined;

  const feed = (t: Turn, source: TurnSource) => {
    if (!tracker.isNew(t)) {
      counters.duplicates++;
      tracker.record(t); // a later announcement may carry the seq the first did not
      return;
    }
    tracker.record(t);
    if (source === "catch-up") counters.caughtUp++;
    deps.onTurn(t, source);
  };

  conn.onInvalid = (reason) => {
    counters.invalidFrames++;
    counters.invalid[reason] = (counters.invalid[reason] ?? 0) + 1;
  };
  conn.onEvent = (frame) => {
    const name = TRACKED_EVENTS.has(frame.event) ? frame.event : "other";
    counters.events[name] = (counters.events[name] ?? 0) + 1;
    if (frame.event === "shutdown") {
      const p = (frame.payload ?? {}) as { reason?: unknown; restartExpectedMs?: unknown };
      planned = {
        reason: `the gateway announced ${
          typeof p.reason === "string" ? `"${p.reason}"` : "a shutdown"
        }`,
        planned: true,
        ...(typeof p.restartExpectedMs === "number"
          ? { plannedRestartMs: p.restartExpectedMs }
          : {}),
      };
      return;
    }
    // While live, everything recorded up to now has been seen (events arrive in order).
    // Until the catch-up has succeeded nothing moves: a failed one is retried from here.
    if (live) tracker.caughtUpAt = now();
    if (frame.event !== "chat" && frame.event !== "session.message") return;
    if (!live) {
      buffered.push(frame);
      return;
    }
    const t = turnFromEvent(frame, deps.conversationFrom);
    if (typeof t === "object") feed(t, "live");
  };

  // Liveness: the gateway ticks every tickIntervalMs; silence for two of them is a dead link.
  const silenceMs = 2 * conn.hello.tickIntervalMs;
  const checkEveryMs = Math.min(5_000, Math.max(100, Math.floor(silenceMs / 4)));
  let silent = false;
  let liveness: TimerId | undefined;
  const checkLiveness = () => {
    if (clock.now() - conn.socket.lastFrameAt > silenceMs) {
      silent = true;
      conn.close(4000, "tick timeout");
      return;
    }
    liveness = clock.setTimeout(checkLiveness, checkEveryMs);
  };
  liveness = clock.setTimeout(checkLiveness, checkEveryMs);

  try {
    await conn.request("sessions.subscribe", {});
    const catchUpFrom = now();
    const found = await catchUp(deps);
    // Turns announced live while the catch-up ran go in with the ones it found, in the order
    // they were recorded (orderTurns), so a turn is never fed after a later one.
    const liveTurns = new Set<Turn>();
    for (const f of buffered.splice(0)) {
      const t = turnFromEvent(f, deps.conversationFrom);
      if (typeof t === "object") liveTurns.add(t);
    }
    for (const t of orderTurns([...found, ...liveTurns])) {
      feed(t, liveTurns.has(t) ? "live" : "catch-up");
    }
    counters.reconciles++;
    if (tracker.caughtUpAt < catchUpFrom) tracker.caughtUpAt = catchUpFrom;
    live = true;
    deps.onLive?.();
  } catch (err) {
    if (!conn.socket.isClosed) {
      // Going live without the catch-up would move the watermarks past the missed turns:
      // reconnect (with backoff) and try again instead.
      counters.reconcileFailures++;
      failure = `catch-up failed: ${(err as Error).message}`;
      deps.onNotice("warn", "catch-up failed; reconnecting to try again", {
        error: (err as Error).message,
      });
      conn.close(1011, "catch-up failed");
    }
  }

  const closed = await conn.socket.closed;
  clock.clearTimeout(liveness);
  if (planned) return planned;
  if (silent) {
    return { reason: `no frame from the gateway for ${silenceMs / 1000} s`, planned: false };
  }
  if (failure) return { reason: failure, planned: false };
  return {
    reason: `connection closed (code ${closed.code}${closed.reason ? `: ${closed.reason}` : ""})`,
    planned: false,
  };
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
async function catchUp(deps: WatchDeps): Promise<Turn[]> {
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
  deps: WatchDeps,
): Promise<Turn[]> {
  const { tracker } = deps;
  const max = deps.maxCatchUpPerSession ?? 10_000;
  const known = tracker.knows(row.key);
  const pages: Turn[][] = [];
  let count = 0;
  for (let offset = 0;;) {
    const page = await conn.request<
      { messages?: unknown; hasMore?: boolean; nextOffset?: number; sessionId?: unknown }
    >(
      "chat.history",
      { sessionKey: row.key, limit: HISTORY_PAGE, ...(offset > 0 ? { offset } : {}) },
    );
    const sessionId = typeof page.sessionId === "string" ? page.sessionId : row.sessionId;
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
  // A session the coordinator knows: whatever it has not counted. One it does not know: what
  // was recorded since it last caught up.
  return pages.flat().filter((t) => known ? tracker.isNew(t) : t.at === undefined || t.at >= since);
}
