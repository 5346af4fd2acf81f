/**
 * The sequence rule as plainly as it can be written (a Map in recency order, one object per
 * conversation), for tests to hold lib/rules/sequence.ts's packed tables against.
 * @module
 */
import type {
  ConversationSnapshot,
  SequenceLimits,
  SequenceViolation,
} from "../../lib/rules/sequence.ts";

/** A straightforward model of SequenceEngine. */
export class SequenceModel {
  readonly #states = new Map<string, { last: number; seenAt: number }>();
  evictedIdle = 0;
  evictedOverCap = 0;

  constructor(readonly sequence: readonly string[], readonly limits: SequenceLimits) {}

  observe(conversation: string, role: string, now: number): SequenceViolation | undefined {
    const position = this.sequence.indexOf(role);
    if (position < 0) return undefined;
    this.expire(now);
    let state = this.#states.get(conversation);
    if (state === undefined) {
      while (this.#states.size >= this.limits.maxConversations) {
        this.#states.delete(this.#states.keys().next().value!);
        this.evictedOverCap++;
      }
      state = { last: -1, seenAt: now };
    }
    this.#states.delete(conversation);
    state.seenAt = now;
    this.#states.set(conversation, state);
    const last = state.last;
    if (position !== last + 1 && position !== 0) {
      return {
        conversation,
        role,
        expected: this.sequence[(last + 1) % this.sequence.length]!,
        lastPosition: last,
      };
    }
    state.last = position === this.sequence.length - 1 ? -1 : position;
    return undefined;
  }

  expire(now: number): void {
    for (const [key, s] of this.#states) {
      if (s.seenAt > now - this.limits.ttlMs) break;
      this.#states.delete(key);
      this.evictedIdle++;
    }
  }

  lastPosition(conversation: string): number {
    return this.#states.get(conversation)?.last ?? -1;
  }

  get tracked(): number {
    return this.#states.size;
  }

  snapshot(): ConversationSnapshot[] {
    return [...this.#states].map(([conversation, s]) => ({ conversation, ...s }));
  }
}
