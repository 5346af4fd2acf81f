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

// A node of the recency list: the least recently active conversation is at the head.
interface ConversationState {
  key: string;
  last: number;
  seenAt: number;
  prev: ConversationState | undefined;
  next: ConversationState | undefined;
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
  readonly #states = new Map<string, ConversationState>();
  // An intrusive list rather than Map order: moving an entry within a Map leaves holes that
  // every later iteration from the front must skip, which made expiry cost grow with churn.
  #head: ConversationState | undefined;
  #tail: ConversationState | undefined;
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
      this.#makeRoom();
      state = { key: conversation, last: -1, seenAt: now, prev: undefined, next: undefined };
      this.#states.set(conversation, state);
    } else {
      this.#unlink(state);
      state.seenAt = now;
    }
    this.#append(state);

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
    while (this.#head !== undefined && this.#head.seenAt <= cutoff) {
      this.#remove(this.#head);
      this.#evictedIdle++;
    }
  }

  #makeRoom(): void {
    while (this.#states.size >= this.#limits.maxConversations && this.#head !== undefined) {
      this.#remove(this.#head);
      this.#evictedOverCap++;
    }
  }

  #append(s: ConversationState): void {
    s.prev = this.#tail;
    s.next = undefined;
    if (this.#tail !== undefined) this.#tail.next = s;
    else this.#head = s;
    this.#tail = s;
  }

  #unlink(s: ConversationState): void {
    if (s.prev !== undefined) s.prev.next = s.next;
    else this.#head = s.next;
    if (s.next !== undefined) s.next.prev = s.prev;
    else this.#tail = s.prev;
    s.prev = s.next = undefined;
  }

  #remove(s: ConversationState): void {
    this.#unlink(s);
    this.#states.delete(s.key);
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
    for (let s = this.#head; s !== undefined; s = s.next) {
      out.push({ conversation: s.key, last: s.last, seenAt: s.seenAt });
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
      const old = this.#states.get(e.conversation);
      if (old !== undefined) this.#remove(old);
      this.#makeRoom();
      const state: ConversationState = {
        key: e.conversation,
        last: e.last,
        seenAt: e.seenAt,
        prev: undefined,
        next: undefined,
      };
      this.#states.set(e.conversation, state);
      this.#append(state);
      restored++;
    }
    return restored;
  }
}
