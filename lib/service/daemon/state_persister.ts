/**
 * The daemon's state across restarts: restored from the snapshot at start, saved soon
 * after it changes (throttled while a burst waits to be written) and at stop, and only then:
 * an idle daemon neither saves nor wakes, but once, when its conversations have all expired.
 * @module
 */
import type { TurnTracker } from "../../gateway/mod.ts";
import type { Finding, RuleEngine } from "../../rules/mod.ts";
import { type Clock, errorText, systemClock, type TimerId } from "../../util/mod.ts";
import type { Logger } from "../log.ts";
import { keepAside, loadSnapshot, type RejectedEntry, saveSnapshot } from "../snapshot.ts";
import type { LockedSession } from "../enforce/mod.ts";

/** While events come, how often idle conversations expire and a changed state is saved, in ms. */
export const SNAPSHOT_INTERVAL_MS = 5_000;
/** The shortest wait before saving after a change, in ms. */
export const SAVE_DELAY_MS = 200;

/** How the persister is set up. */
export interface StatePersisterOptions {
  /** The snapshot file. */
  path: string;
  /** The rules whose state is saved and restored. */
  rules: RuleEngine;
  /** The findings not yet in the ledger, oldest first (the writer's queue and any on their way to it). */
  pending: () => Iterable<Finding>;
  /** The OpenClaw watcher's tracker, when the protocol may be OpenClaw. */
  tracker?: TurnTracker;
  /** Where failures to save or restore are said. */
  logger: Logger;
  /** Time for the save throttle (default: the system clock). */
  clock?: Clock;
  /**
   * How long the rules keep an idle conversation, in ms: once events stop, one timer at the
   * last event plus this lets them all expire. Left out: they expire at the next event.
   */
  ttlMs?: number;
  /** Called after the rules' state expired (their counters may have moved). */
  onExpired?: () => void;
  /** `enforce: prevent`'s record of the sessions it made read-only. */
  prevention?: {
    snapshot(): readonly LockedSession[];
    restore(entries: readonly LockedSession[]): void;
  };
}

// The longest delay a timer takes (setTimeout's limit).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Restores and saves the snapshot. */
export class StatePersister {
  readonly #o: StatePersisterOptions;
  readonly #clock: Clock;
  #dirty = false;
  #saving: Promise<void> = Promise.resolve();
  #lastSaveMs = 0;
  #saveTimer: TimerId | undefined;
  #interval: TimerId | undefined;
  #expiry: TimerId | undefined;
  #started = false;
  // Events since the last tick; when the last one came.
  #active = false;
  #lastActivityAt = 0;
  // Saved states of rules not running now: written back as they were.
  #carried: Record<string, unknown> = {};
  #saves = 0;
  #stopped = false;

  /** Creates the persister; nothing is read until {@link restore}. */
  constructor(opts: StatePersisterOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Snapshots written so far. */
  get saves(): number {
    return this.#saves;
  }

  /**
   * Restores the rules' state and the tracker from the snapshot, and returns the findings it
   * listed as pending (the caller matches them against the ledger and queues them). What
   * cannot be read or restored is kept aside, all in one file, and the rest is used.
   */
  async restore(): Promise<Finding[]> {
    const { logger } = this.#o;
    const now = this.#clock.now();
    const loaded = await loadSnapshot(this.#o.path, now);
    if (loaded.error !== undefined) {
      logger.warn(
        `${loaded.error}${loaded.movedTo ? `; moved aside to ${loaded.movedTo}` : ""}; ` +
          "starting with no conversation state",
      );
    }
    const s = loaded.snapshot;
    if (s === undefined) return [];
    const aside: RejectedEntry[] = [...s.rejected];
    if (s.turns && this.#o.tracker) this.#o.tracker.restore(s.turns);
    this.#o.prevention?.restore(s.prevented);
    const running = new Set<string>();
    for (const rule of this.#o.rules.rules) {
      running.add(rule.id);
      const state = s.rules[rule.id];
      if (state === undefined || rule.restoreState === undefined) continue;
      try {
        const warning = rule.restoreState(state, now);
        if (warning !== undefined) logger.warn(warning);
      } catch (err) {
        aside.push({ what: `rules.${rule.id}`, reason: errorText(err), entry: state });
        logger.warn(
          `Cannot restore the ${rule.id} rule's state: ${errorText(err)}; it starts afresh`,
        );
      }
    }
    for (const [id, state] of Object.entries(s.rules)) {
      if (!running.has(id)) this.#carried[id] = state;
    }
    if (aside.length > 0) await this.#keepAside(aside, now);
    // The pending findings are about to be queued: the next save must list them again.
    this.#dirty = true;
    return s.pending;
  }

  async #keepAside(aside: RejectedEntry[], now: number): Promise<void> {
    const what = `${aside.length} entr${aside.length === 1 ? "y" : "ies"} of the state snapshot ` +
      `could not be used (${aside.map((r) => r.what).join(", ")})`;
    try {
      const where = await keepAside(this.#o.path, { entries: aside, now });
      this.#o.logger.warn(`${what}; kept in ${where}; the rest is used`);
    } catch (err) {
      // Said as it is: the next save no longer lists them, so they are gone then.
      this.#o.logger.error(`${what} and ${errorText(err)}; the rest is used`);
    }
  }

  /** The state changed; the next periodic save (or any sooner one) takes it. */
  markDirty(): void {
    this.#dirty = true;
    this.#activity();
  }

  /** The state changed: save soon (after {@link stop}, only the caller's last save). */
  changed(): void {
    this.#dirty = true;
    this.#activity();
    if (!this.#stopped) this.#schedule();
  }

  // The periodic tick runs while events come, and stops at the first tick with none.
  #activity(): void {
    this.#active = true;
    this.#lastActivityAt = this.#clock.now();
    this.#clock.clearTimeout(this.#expiry);
    this.#expiry = undefined;
    if (this.#started && !this.#stopped && this.#interval === undefined) this.#tickIn();
  }

  #tickIn(): void {
    this.#clock.clearTimeout(this.#interval);
    this.#interval = this.#clock.setTimeout(() => this.#tick(), SNAPSHOT_INTERVAL_MS);
  }

  #tick(): void {
    this.#interval = undefined;
    this.#expire();
    if (this.#dirty) void this.save();
    if (this.#active) {
      this.#active = false;
      this.#tickIn();
      return;
    }
    this.#expiryTimer();
  }

  #expire(): void {
    this.#o.rules.expire(this.#clock.now());
    this.#o.onExpired?.();
  }

  // Idle: one timer, when every conversation kept has expired.
  #expiryTimer(): void {
    const ttl = this.#o.ttlMs;
    if (ttl === undefined) return;
    const wait = this.#lastActivityAt + ttl - this.#clock.now();
    if (wait < 0) return;
    this.#expiry = this.#clock.setTimeout(() => {
      this.#expiry = undefined;
      this.#expire();
      if (this.#dirty) void this.save();
      // Again only if the wait was longer than a timer takes.
      if (this.#clock.now() < this.#lastActivityAt + ttl) this.#expiryTimer();
    }, Math.min(MAX_TIMER_MS, wait));
  }

  /**
   * Saves soon. A snapshot holds the whole queue: while a burst waits to be written, saving it
   * every 200 ms would cost more than the writes, so at most a tenth of the time goes to saving.
   */
  #schedule(): void {
    if (this.#saveTimer !== undefined) return;
    this.#saveTimer = this.#clock.setTimeout(() => {
      this.#saveTimer = undefined;
      if (this.#dirty) void this.save();
    }, Math.max(SAVE_DELAY_MS, 10 * this.#lastSaveMs));
  }

  /**
   * Saves now, after any save under way (two at once would share the temporary file);
   * resolves with whether this save was written.
   */
  save(): Promise<boolean> {
    let written = false;
    this.#saving = this.#saving.then(async () => {
      this.#dirty = false;
      const began = performance.now();
      try {
        await saveSnapshot(this.#o.path, {
          savedAt: this.#clock.now(),
          rules: this.#o.rules.rules,
          carried: this.#carried,
          pending: this.#o.pending,
          turns: () => this.#o.tracker?.snapshot(),
          ...(this.#o.prevention ? { prevented: () => this.#o.prevention!.snapshot() } : {}),
        });
        this.#saves++;
        written = true;
      } catch (err) {
        this.#dirty = true;
        this.#o.logger.warn(`Cannot write state snapshot ${this.#o.path}: ${errorText(err)}`);
      }
      this.#lastSaveMs = performance.now() - began;
    });
    return this.#saving.then(() => written);
  }

  /**
   * Every {@link SNAPSHOT_INTERVAL_MS} while events come: idle state expires, and a changed
   * state is saved. Nothing runs while nothing happens.
   */
  start(): void {
    this.#started = true;
    if (this.#dirty || this.#active) this.#tickIn();
  }

  /** Stops the timers (a last save is the caller's). */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#interval);
    this.#clock.clearTimeout(this.#expiry);
    this.#interval = undefined;
    this.#expiry = undefined;
    this.#clock.clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
  }
}
