/**
 * Which OpenClaw agent turns have been counted, so each is counted once however many
 * events announce it and whether it arrives live or in a catch-up. Pure and bounded.
 * @module
 */
import type { Turn } from "./protocol.ts";

/** Turn keys remembered per session. */
const KEYS_PER_SESSION = 64;

interface SessionMark {
  /** The transcript the seqs belong to, when known. */
  sessionId?: string;
  /** The highest message seq counted or passed over in this session. */
  lastSeq: number;
  /** When the newest message with a seq was recorded (ms), 0 when unknown. */
  lastAt: number;
  /** Recently counted turn keys, oldest first. */
  keys: string[];
}

/** One session in the saved form. */
export interface SessionSnapshot {
  /** The session key. */
  key: string;
  /** The highest message seq counted or passed over. */
  lastSeq: number;
  /** When the newest message with a seq was recorded (ms), 0 when unknown. */
  lastAt: number;
  /** Recently counted turn keys, oldest first. */
  keys: string[];
  /** The transcript the seqs belong to, when known. */
  sessionId?: string;
}

/** Saved form of the tracker (part of the state snapshot). */
export interface TurnsSnapshot {
  /** Messages recorded up to this time (ms) have been seen. */
  caughtUpAt: number;
  /** The sessions remembered. */
  sessions: SessionSnapshot[];
}

/** Remembers counted turns per session; the least recently active sessions are forgotten first. */
export class TurnTracker {
  readonly #sessions = new Map<string, SessionMark>();
  readonly #maxSessions: number;
  /** Everything recorded before this time (ms) has been seen; -1 until known. */
  caughtUpAt: number = -1;

  /** `maxSessions` bounds memory: beyond it, the least recently touched sessions are dropped. */
  constructor(maxSessions = 10_000) {
    this.#maxSessions = maxSessions;
  }

  /** Sessions remembered. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Whether the session has a watermark. */
  knows(sessionKey: string): boolean {
    return this.#sessions.has(sessionKey);
  }

  /** The highest seq seen in a session, or undefined when the session is unknown or was reset. */
  lastSeq(sessionKey: string, sessionId?: string): number | undefined {
    const s = this.#sessions.get(sessionKey);
    if (s === undefined || newTranscript(s, sessionId)) return undefined;
    return s.lastSeq;
  }

  /**
   * Whether `turn` has not been counted yet: its key is unknown, and its seq is past the
   * session's watermark, or the session has started over (a new transcript id, or a seq at
   * or below the watermark on a message recorded after the newest one seen: a reset that
   * kept the id).
   */
  isNew(turn: Turn): boolean {
    const s = this.#sessions.get(turn.sessionKey);
    if (s === undefined) return true;
    if (s.keys.includes(turn.key)) return false;
    if (turn.seq === undefined || newTranscript(s, turn.sessionId)) return true;
    return turn.seq > s.lastSeq || startedOver(s, turn);
  }

  /** Records `turn` as counted. */
  record(turn: Turn): void {
    const s = this.#touch(turn.sessionKey);
    if (newTranscript(s, turn.sessionId)) {
      s.lastSeq = 0;
      s.lastAt = 0;
    }
    if (turn.sessionId !== undefined) s.sessionId = turn.sessionId;
    // A key seen again moves to the newest place: a run announced by many messages (one per
    // tool call) keeps its key however many tool calls push keys of their own.
    const known = s.keys.indexOf(turn.key);
    if (known >= 0) s.keys.splice(known, 1);
    s.keys.push(turn.key);
    if (s.keys.length > KEYS_PER_SESSION) s.keys.shift();
    if (turn.seq === undefined) return;
    if (turn.seq > s.lastSeq || startedOver(s, turn)) s.lastSeq = turn.seq;
    // Only message records carry a seq; their time is the record time the watermark needs.
    if (turn.at !== undefined && turn.at > s.lastAt) s.lastAt = turn.at;
  }

  /** Marks a session as seen up to `seq` without counting anything (a baseline). */
  passOver(sessionKey: string, seq: number): void {
    const s = this.#touch(sessionKey);
    if (seq > s.lastSeq) s.lastSeq = seq;
  }

  #touch(sessionKey: string): SessionMark {
    let s = this.#sessions.get(sessionKey);
    if (s !== undefined) {
      this.#sessions.delete(sessionKey);
    } else {
      s = { lastSeq: 0, lastAt: 0, keys: [] };
      while (this.#sessions.size >= this.#maxSessions) {
        this.#sessions.delete(this.#sessions.keys().next().value as string);
      }
    }
    this.#sessions.set(sessionKey, s);
    return s;
  }

  /** The tracker's state, for the snapshot. */
  snapshot(): TurnsSnapshot {
    return {
      caughtUpAt: this.caughtUpAt,
      sessions: [...this.#sessions].map(([key, s]) => ({
        key,
        lastSeq: s.lastSeq,
        lastAt: s.lastAt,
        keys: [...s.keys],
        ...(s.sessionId !== undefined ? { sessionId: s.sessionId } : {}),
      })),
    };
  }

  /** Restores a snapshot's state (entries of the wrong shape are skipped). */
  restore(snap: TurnsSnapshot): void {
    if (typeof snap.caughtUpAt === "number") this.caughtUpAt = snap.caughtUpAt;
    for (const e of Array.isArray(snap.sessions) ? snap.sessions : []) {
      if (
        typeof e !== "object" || e === null || typeof e.key !== "string" ||
        typeof e.lastSeq !== "number" || !Array.isArray(e.keys)
      ) continue;
      const s = this.#touch(e.key);
      s.lastSeq = e.lastSeq;
      s.lastAt = typeof e.lastAt === "number" ? e.lastAt : 0;
      s.keys = e.keys.filter((k) => typeof k === "string").slice(-KEYS_PER_SESSION);
      if (typeof e.sessionId === "string") s.sessionId = e.sessionId;
    }
  }
}

// A known transcript id that differs from the one given: the session was replaced.
function newTranscript(s: SessionMark, sessionId: string | undefined): boolean {
  return sessionId !== undefined && s.sessionId !== undefined && s.sessionId !== sessionId;
}

// A seq at or below the watermark on a message recorded after the newest one seen: the
// session was reset in place and its seqs started over.
function startedOver(s: SessionMark, turn: Turn): boolean {
  return turn.seq !== undefined && turn.seq <= s.lastSeq && turn.at !== undefined &&
    s.lastAt > 0 && turn.at > s.lastAt;
}

/** A turn's place in the feed order: its effective record time, then its input position. */
export interface TurnPlace {
  /** The record time, or the one it takes from its session (Infinity when none is known). */
  at: number;
  /** Position in the input. */
  index: number;
}

/**
 * The one comparator of the feed order: by effective record time, then by input position.
 * Total and consistent (no subtraction, so no NaN for two unknown times).
 */
export function compareTurnPlaces(a: TurnPlace, b: TurnPlace): number {
  if (a.at < b.at) return -1;
  if (a.at > b.at) return 1;
  return a.index - b.index;
}

/**
 * The places of `turns` (given oldest first within each session, e.g. each session's
 * history and then the live events in arrival order). A turn without a record time takes
 * that of the turn before it in its own session, else of the one after it, so it keeps its
 * position among its session's turns; a session with no time at all goes after the timed
 * turns. Ties (also across sessions, whose seqs are not comparable) keep the input order.
 */
export function turnPlaces(turns: readonly Turn[]): TurnPlace[] {
  const places: TurnPlace[] = turns.map((t, index) => ({ at: t.at ?? NaN, index }));
  const bySession = new Map<string, number[]>();
  for (const [i, t] of turns.entries()) {
    const list = bySession.get(t.sessionKey);
    if (list === undefined) bySession.set(t.sessionKey, [i]);
    else list.push(i);
  }
  for (const list of bySession.values()) {
    let carried = NaN;
    for (const i of list) {
      const p = places[i]!;
      if (Number.isNaN(p.at)) p.at = carried;
      else carried = p.at;
    }
    carried = Infinity;
    for (const i of list.toReversed()) {
      const p = places[i]!;
      if (Number.isNaN(p.at)) p.at = carried;
      else carried = p.at;
    }
  }
  return places;
}

/** `turns` in the feed order ({@link turnPlaces}, {@link compareTurnPlaces}); the input is left as is. */
export function orderTurns<T extends Turn>(turns: readonly T[]): T[] {
  return turnPlaces(turns).sort(compareTurnPlaces).map((p) => turns[p.index]!);
}
