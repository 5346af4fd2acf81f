/**
 * The MO§ES sequence rule, per conversation, with bounded memory. Pure: the
 * caller supplies the time of each observation.
 *
 * The rule is the seed's: the role at position `i` may answer when `i` is one past
 * the last accepted position, or when `i` is 0 (primary may always open a cycle).
 * Anything else is a violation and leaves the state where it was. After the last
 * role of the sequence the cycle is complete and starts again.
 *
 * @module
 */

/** The order roles must answer in, when nothing else is configured. */
export const DEFAULT_SEQUENCE: readonly string[] = ["primary", "secondary", "observer"];

/** Limits on the conversations tracked at once. */
export interface SequenceLimits {
  /** Idle time after which a conversation is forgotten, in milliseconds. */
  ttlMs: number;
  /** Most conversations tracked; the least recently active go first. */
  maxConversations: number;
}

/** A response that broke the order. */
export interface SequenceViolation {
  conversation: string;
  role: string;
  expected: string;
  /** The position last accepted in this conversation, -1 at the start of a cycle. */
  lastPosition: number;
}

interface ConversationState {
  last: number;
  seenAt: number;
}

/** Counters of what the engine did, for status. */
export interface SequenceStats {
  tracked: number;
  evictedIdle: number;
  evictedOverCap: number;
}

/** Saved form of one conversation (for the state snapshot). */
export interface ConversationSnapshot {
  conversation: string;
  last: number;
  seenAt: number;
}

/** Tracks where each conversation stands in the sequence and detects violations. */
export class SequenceEngine {
  readonly sequence: readonly string[];
  readonly #positions: Map<string, number>;
  // Map iteration order is insertion order; re-inserting on every touch keeps it least-recent first.
  readonly #states = new Map<string, ConversationState>();
  readonly #limits: SequenceLimits;
  #evictedIdle = 0;
  #evictedOverCap = 0;

  /** Creates an engine over `sequence` (role names, distinct, at least one). */
  constructor(sequence: readonly string[], limits: SequenceLimits) {
    if (sequence.length === 0) throw new RangeError("The sequence needs at least one role");
    this.#positions = new Map(sequence.map((r, i) => [r, i]));
    if (this.#positions.size !== sequence.length) {
      throw new RangeError("The sequence names a role twice");
    }
    if (!(limits.ttlMs > 0) || !(limits.maxConversations >= 1)) {
      throw new RangeError("Conversation limits must be positive");
    }
    this.sequence = [...sequence];
    this.#limits = { ...limits };
  }

  /** Whether `role` takes part in the sequence. */
  hasRole(role: string): boolean {
    return this.#positions.has(role);
  }

  /**
   * Records that `role` answered in `conversation` at time `now` (ms).
   * Returns the violation, or undefined when the answer was in order.
   * A role outside the sequence is ignored (returns undefined, changes nothing).
   */
  observe(conversation: string, role: string, now: number): SequenceViolation | undefined {
    const position = this.#positions.get(role);
    if (position === undefined) return undefined;
    this.expire(now);
    let state = this.#states.get(conversation);
    if (state === undefined) {
      state = { last: -1, seenAt: now };
      this.#makeRoom();
    } else {
      this.#states.delete(conversation);
      state.seenAt = now;
    }
    this.#states.set(conversation, state);

    const last = state.last;
    if (position !== last + 1 && position !== 0) {
      const next = last + 1;
      const expected = next < this.sequence.length ? this.sequence[next]! : this.sequence[0]!;
      return { conversation, role, expected, lastPosition: last };
    }
    state.last = position === this.sequence.length - 1 ? -1 : position;
    return undefined;
  }

  /** Forgets conversations idle for longer than the TTL at time `now`. */
  expire(now: number): void {
    const cutoff = now - this.#limits.ttlMs;
    for (const [key, state] of this.#states) {
      if (state.seenAt > cutoff) break;
      this.#states.delete(key);
      this.#evictedIdle++;
    }
  }

  #makeRoom(): void {
    while (this.#states.size >= this.#limits.maxConversations) {
      const oldest = this.#states.keys().next().value as string;
      this.#states.delete(oldest);
      this.#evictedOverCap++;
    }
  }

  /** The position last accepted in `conversation`, -1 when none or unknown. */
  lastPosition(conversation: string): number {
    return this.#states.get(conversation)?.last ?? -1;
  }

  /** Counters for status. */
  stats(): SequenceStats {
    return {
      tracked: this.#states.size,
      evictedIdle: this.#evictedIdle,
      evictedOverCap: this.#evictedOverCap,
    };
  }

  /** The state of every tracked conversation, least recently active first. */
  snapshot(): ConversationSnapshot[] {
    const out: ConversationSnapshot[] = [];
    for (const [conversation, s] of this.#states) {
      out.push({ conversation, last: s.last, seenAt: s.seenAt });
    }
    return out;
  }

  /**
   * Restores conversations from a snapshot taken with the same sequence. Entries whose
   * position is out of range are skipped; returns how many were restored.
   */
  restore(entries: readonly ConversationSnapshot[], now: number): number {
    const sorted = [...entries].sort((a, b) => a.seenAt - b.seenAt);
    let restored = 0;
    for (const e of sorted) {
      if (!Number.isInteger(e.last) || e.last < -1 || e.last >= this.sequence.length) continue;
      if (e.seenAt <= now - this.#limits.ttlMs) continue;
      this.#states.delete(e.conversation);
      this.#makeRoom();
      this.#states.set(e.conversation, { last: e.last, seenAt: e.seenAt });
      restored++;
    }
    return restored;
  }
}
