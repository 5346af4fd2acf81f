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
import { KeyArena } from "./_key_arena.ts";

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
  /** The conversation it happened in. */
  conversation: string;
  /** The role that answered. */
  role: string;
  /** The role whose turn it was. */
  expected: string;
  /** The position last accepted in this conversation, -1 at the start of a cycle. */
  lastPosition: number;
}

/** Counters of what the engine did, for status. */
export interface SequenceStats {
  /** Conversations tracked now. */
  tracked: number;
  /** Conversations forgotten after their idle time, since start. */
  evictedIdle: number;
  /** Conversations forgotten to stay under the cap, since start. */
  evictedOverCap: number;
}

/** Saved form of one conversation (for the state snapshot). */
export interface ConversationSnapshot {
  /** The conversation id. */
  conversation: string;
  /** The position last accepted, -1 at the start of a cycle. */
  last: number;
  /** When it was last active, ms since the epoch. */
  seenAt: number;
}

/** Options of a SequenceEngine beyond its limits. */
export interface SequenceOptions {
  /**
   * The hash of a conversation id (32 bits). By default a hash with a random seed per
   * engine, so that ids cannot be chosen to collide; tests pass a poor one to force collisions.
   */
  hash?: (conversation: string) => number;
}

// Conversations tracked before the tables first grow; they double up to the cap.
const INITIAL_CAPACITY = 1024;
const NONE = -1;

/**
 * Tracks where each conversation stands in the sequence and detects violations.
 *
 * The state of a conversation lives in typed arrays indexed by a slot number, found through
 * an open-addressing hash index of its own, rather than in an object per conversation: with
 * 100,000 conversations coming and going, objects on the V8 heap survived long enough to be
 * promoted and then became garbage, which grew the heap to several times what was alive
 * (bench/RESULTS.md). The ids themselves are packed into a KeyArena.
 */
export class SequenceEngine {
  /** The roles, in the order they must answer. */
  readonly sequence: readonly string[];
  readonly #positions: Map<string, number>;
  readonly #limits: SequenceLimits;
  readonly #hashOf: (conversation: string) => number;
  #evictedIdle = 0;
  #evictedOverCap = 0;

  // Slots: the id (where it is in the arena, and its length), its hash, the position last
  // accepted, when last active, and the recency list (least recently active at the head)
  // through prev/next; their length is the capacity. Free slots are chained through `next`
  // from `#free`.
  readonly #ids: KeyArena;
  #idAt = new Int32Array(0);
  #idLength = new Int32Array(0);
  #hashes = new Int32Array(0);
  #last = new Int32Array(0);
  #seenAt = new Float64Array(0);
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #size = 0;
  #used = 0;
  #free = NONE;
  #head = NONE;
  #tail = NONE;
  // The index: buckets hold slot + 1 (0 is empty), linear probing, at most half full.
  #buckets = new Int32Array(0);
  #mask = 0;

  /** Creates an engine over `sequence` (role names, distinct, at least one). */
  constructor(
    sequence: readonly string[],
    limits: SequenceLimits,
    options: SequenceOptions = {},
  ) {
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
    this.#hashOf = options.hash ?? seededHash(randomSeed());
    this.#ids = new KeyArena((slot, offset) => {
      this.#idAt[slot] = offset;
    });
    this.#grow(Math.min(INITIAL_CAPACITY, limits.maxConversations));
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
    const hash = this.#hash(conversation);
    let slot = this.#find(conversation, hash);
    if (slot === NONE) {
      this.#makeRoom();
      slot = this.#add(conversation, hash, -1, now);
    } else {
      this.#unlink(slot);
      this.#seenAt[slot] = now;
      this.#append(slot);
    }

    const last = this.#last[slot]!;
    const v = this.#verdict(conversation, role, position, last);
    if (v !== undefined) return v;
    this.#last[slot] = position === this.sequence.length - 1 ? -1 : position;
    return undefined;
  }

  /**
   * Whether `role` answering in `conversation` at time `now` would break the order: the
   * violation {@link observe} would return, without recording anything (a conversation idle
   * past its TTL counts as forgotten, as `observe` would find it).
   */
  peek(conversation: string, role: string, now: number): SequenceViolation | undefined {
    const position = this.#positions.get(role);
    if (position === undefined) return undefined;
    const slot = this.#find(conversation, this.#hash(conversation));
    const fresh = slot === NONE || this.#seenAt[slot]! <= now - this.#limits.ttlMs;
    return this.#verdict(conversation, role, position, fresh ? -1 : this.#last[slot]!);
  }

  // The order itself: `position` may follow `last` (or open a cycle), or it is a violation.
  #verdict(
    conversation: string,
    role: string,
    position: number,
    last: number,
  ): SequenceViolation | undefined {
    if (position === last + 1 || position === 0) return undefined;
    const next = last + 1;
    const expected = next < this.sequence.length ? this.sequence[next]! : this.sequence[0]!;
    return { conversation, role, expected, lastPosition: last };
  }

  /** Forgets conversations idle for longer than the TTL at time `now`. */
  expire(now: number): void {
    const cutoff = now - this.#limits.ttlMs;
    while (this.#head !== NONE && this.#seenAt[this.#head]! <= cutoff) {
      this.#remove(this.#head);
      this.#evictedIdle++;
    }
  }

  /** The position last accepted in `conversation`, -1 when none or unknown. */
  lastPosition(conversation: string): number {
    const slot = this.#find(conversation, this.#hash(conversation));
    return slot === NONE ? -1 : this.#last[slot]!;
  }

  /** Counters for status. */
  stats(): SequenceStats {
    return {
      tracked: this.#size,
      evictedIdle: this.#evictedIdle,
      evictedOverCap: this.#evictedOverCap,
    };
  }

  /**
   * Calls `fn` with the state of every tracked conversation, least recently active first.
   * `fn` must not call back into the engine.
   */
  forEachConversation(fn: (conversation: string, last: number, seenAt: number) => void): void {
    for (let s = this.#head; s !== NONE; s = this.#next[s]!) {
      fn(this.#ids.read(this.#idAt[s]!, this.#idLength[s]!), this.#last[s]!, this.#seenAt[s]!);
    }
  }

  /** The state of every tracked conversation, least recently active first. */
  snapshot(): ConversationSnapshot[] {
    const out: ConversationSnapshot[] = [];
    this.forEachConversation((conversation, last, seenAt) =>
      out.push({ conversation, last, seenAt })
    );
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
      const hash = this.#hash(e.conversation);
      const old = this.#find(e.conversation, hash);
      if (old !== NONE) this.#remove(old);
      this.#makeRoom();
      this.#add(e.conversation, hash, e.last, e.seenAt);
      restored++;
    }
    return restored;
  }

  #makeRoom(): void {
    while (this.#size >= this.#limits.maxConversations && this.#head !== NONE) {
      this.#remove(this.#head);
      this.#evictedOverCap++;
    }
  }

  // A 32-bit integer, whatever the configured hash returns.
  #hash(conversation: string): number {
    return this.#hashOf(conversation) | 0;
  }

  // The slot holding `conversation`, or NONE.
  #find(conversation: string, hash: number): number {
    const buckets = this.#buckets;
    for (let b = hash & this.#mask;; b = (b + 1) & this.#mask) {
      const entry = buckets[b]!;
      if (entry === 0) return NONE;
      const slot = entry - 1;
      if (
        this.#hashes[slot] === hash &&
        this.#ids.equals(this.#idAt[slot]!, this.#idLength[slot]!, conversation)
      ) return slot;
    }
  }

  // Takes a slot for a conversation not tracked yet, indexes it and makes it the most recent.
  #add(conversation: string, hash: number, last: number, seenAt: number): number {
    const capacity = this.#hashes.length;
    if (this.#free === NONE && this.#used === capacity) {
      this.#grow(Math.min(capacity * 2, this.#limits.maxConversations));
    }
    let slot: number;
    if (this.#free !== NONE) {
      slot = this.#free;
      this.#free = this.#next[slot]!;
    } else {
      slot = this.#used++;
    }
    // Storing the id may compact the arena, which moves the ids of other slots.
    const length = KeyArena.lengthOf(conversation);
    this.#idAt[slot] = this.#ids.add(conversation, length, slot);
    this.#idLength[slot] = length;
    this.#hashes[slot] = hash;
    this.#last[slot] = last;
    this.#seenAt[slot] = seenAt;
    this.#index(slot);
    this.#append(slot);
    this.#size++;
    return slot;
  }

  #index(slot: number): void {
    let b = this.#hashes[slot]! & this.#mask;
    while (this.#buckets[b] !== 0) b = (b + 1) & this.#mask;
    this.#buckets[b] = slot + 1;
  }

  #remove(slot: number): void {
    this.#unlink(slot);
    this.#unindex(slot);
    this.#ids.release(this.#idAt[slot]!);
    this.#next[slot] = this.#free;
    this.#free = slot;
    this.#size--;
  }

  // Deletes from a linear-probing index without tombstones: later entries of the same run
  // move back into the gap when their home bucket does not lie between the gap and them.
  #unindex(slot: number): void {
    const buckets = this.#buckets;
    const mask = this.#mask;
    let gap = this.#hashes[slot]! & mask;
    while (buckets[gap] !== slot + 1) gap = (gap + 1) & mask;
    for (let b = (gap + 1) & mask;; b = (b + 1) & mask) {
      const entry = buckets[b]!;
      if (entry === 0) break;
      const home = this.#hashes[entry - 1]! & mask;
      // Stays where it is when its home lies cyclically in (gap, b].
      const stays = gap <= b ? gap < home && home <= b : gap < home || home <= b;
      if (stays) continue;
      buckets[gap] = entry;
      gap = b;
    }
    buckets[gap] = 0;
  }

  #append(slot: number): void {
    this.#prev[slot] = this.#tail;
    this.#next[slot] = NONE;
    if (this.#tail !== NONE) this.#next[this.#tail] = slot;
    else this.#head = slot;
    this.#tail = slot;
  }

  #unlink(slot: number): void {
    const prev = this.#prev[slot]!;
    const next = this.#next[slot]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else this.#tail = prev;
  }

  // Enlarges the slot tables to `capacity` and rebuilds the index at most half full. The
  // buffers are transferred, which frees the old ones at once rather than at some full GC.
  #grow(capacity: number): void {
    const ints = (a: Int32Array<ArrayBuffer>, n = capacity) =>
      new Int32Array(a.buffer.transfer(n * 4));
    this.#idAt = ints(this.#idAt);
    this.#idLength = ints(this.#idLength);
    this.#hashes = ints(this.#hashes);
    this.#last = ints(this.#last);
    this.#seenAt = new Float64Array(this.#seenAt.buffer.transfer(capacity * 8));
    this.#prev = ints(this.#prev);
    this.#next = ints(this.#next);
    let buckets = 2;
    while (buckets < capacity * 2) buckets *= 2;
    this.#buckets = ints(this.#buckets, buckets).fill(0);
    this.#mask = buckets - 1;
    for (let s = this.#head; s !== NONE; s = this.#next[s]!) this.#index(s);
  }
}

/**
 * A 32-bit string hash (FNV-1a over UTF-16 code units from `seed`, then MurmurHash3's
 * finaliser to spread the bits a linear-probing index uses).
 */
export function seededHash(seed: number): (s: string) => number {
  const basis = (0x811c9dc5 ^ seed) | 0;
  return (s) => {
    let h = basis;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  };
}

function randomSeed(): number {
  return crypto.getRandomValues(new Int32Array(1))[0]!;
}
