/**
 * A clock for tests: time moves only when the test says so, and timers due by then fire
 * in order of their due time.
 * @module
 */
import type { Clock, TimerId } from "../../lib/util/clock.ts";

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/** A manual clock implementing {@link Clock}. */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Pending[] = [];
  /** Timers fired so far (each a wake-up of the code under test). */
  fired = 0;

  /** Starts at `start` ms since the epoch. */
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId | undefined): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, or undefined. */
  get nextDue(): number | undefined {
    let due: number | undefined;
    for (const t of this.#timers) if (due === undefined || t.at < due) due = t.at;
    return due;
  }

  /**
   * Moves time forward by `ms`, firing each timer that falls due on the way at its due
   * time, and letting promise callbacks run after each (timers may set more timers).
   */
  async tick(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) =>
        a.at - b.at || a.id - b.id
      );
      const next = due[0];
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      this.fired++;
      next.fn();
    }
    this.#now = end;
    await flushMicrotasks();
  }
}

/** Lets pending promise callbacks run (several rounds, for chained awaits). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
