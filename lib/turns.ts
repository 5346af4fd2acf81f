/**
 * Which OpenClaw agent turns have been counted, so each is counted once however many
 * events announce it and whether it arrives live or in a catch-up. Pure and bounded.
 * @module
 */
import type { Turn } from "./openclaw_protocol.ts";

/** Turn keys remembered per session. */
const KEYS_PER_SESSION = 64;

interface SessionMark {
  /** The transcript the seqs belong to, when known. */
  sessionId?: string;
  /** The highest message seq counted or passed over in this session. */
  lastSeq: number;
  /** Recently counted turn keys, oldest first. */
  keys: string[];
}

/** Saved form of the tracker (part of the state snapshot). */
export interface TurnsSnapshot {
  /** Messages recorded up to this time (ms) have been seen. */
  caughtUpAt: number;
  sessions: [sessionKey: string, lastSeq: number, keys: string[], sessionId?: string][];
}

// A known transcript id that differs from the one given: the session was reset.
function isReset(s: SessionMark, sessionId: string | undefined): boolean {
  return sessionId !== undefined && s.sessionId !== undefined && s.sessionId !== sessionId;
}

/** Remembers counted turns per session; the least recently active sessions are forgotten first. */
export class TurnTracker {
  readonly #sessions = new Map<string, SessionMark>();
  readonly #maxSessions: number;
  /** Everything recorded before this time (ms) has been seen; -1 until known. */
  caughtUpAt = -1;

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

  /**
   * The highest seq seen in a session, or undefined when the session is unknown or, given
   * `sessionId`, was reset since (a new transcript whose seqs start over).
   */
  lastSeq(sessionKey: string, sessionId?: string): number | undefined {
    const s = this.#sessions.get(sessionKey);
    if (s === undefined || isReset(s, sessionId)) return undefined;
    return s.lastSeq;
  }

  /** Whether `turn` has not been counted yet. */
  isNew(turn: Turn): boolean {
    const s = this.#sessions.get(turn.sessionKey);
    if (s === undefined) return true;
    if (s.keys.includes(turn.key)) return false;
    if (isReset(s, turn.sessionId)) return true;
    return turn.seq === undefined || turn.seq > s.lastSeq;
  }

  /** Records `turn` as counted. */
  record(turn: Turn): void {
    const s = this.#touch(turn.sessionKey);
    if (isReset(s, turn.sessionId)) s.lastSeq = 0;
    if (turn.sessionId !== undefined) s.sessionId = turn.sessionId;
    if (!s.keys.includes(turn.key)) {
      s.keys.push(turn.key);
      if (s.keys.length > KEYS_PER_SESSION) s.keys.shift();
    }
    if (turn.seq !== undefined && turn.seq > s.lastSeq) s.lastSeq = turn.seq;
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
      s = { lastSeq: 0, keys: [] };
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
      sessions: [...this.#sessions].map(([k, s]) =>
        s.sessionId !== undefined
          ? [k, s.lastSeq, [...s.keys], s.sessionId]
          : [k, s.lastSeq, [...s.keys]]
      ),
    };
  }

  /** Restores a snapshot's state (entries of the wrong shape are skipped). */
  restore(snap: TurnsSnapshot): void {
    if (typeof snap.caughtUpAt === "number") this.caughtUpAt = snap.caughtUpAt;
    for (const entry of snap.sessions ?? []) {
      if (!Array.isArray(entry)) continue;
      const [key, lastSeq, keys, sessionId] = entry;
      if (typeof key !== "string" || typeof lastSeq !== "number" || !Array.isArray(keys)) continue;
      const s = this.#touch(key);
      s.lastSeq = lastSeq;
      if (typeof sessionId === "string") s.sessionId = sessionId;
      s.keys = keys.filter((k) => typeof k === "string").slice(-KEYS_PER_SESSION);
    }
  }
}
