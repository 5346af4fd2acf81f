/**
 * Time as a dependency: the wall clock and timers, injected so that backoff, throttles,
 * liveness and fsync-mode switching are tested without real sleeps.
 * @module
 */

/** An opaque timer handle. */
export type TimerId = number | ReturnType<typeof setTimeout>;

/** The wall clock and one-shot timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once, after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; an unknown or fired one is ignored. */
  clearTimeout(id: TimerId | undefined): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout> | undefined),
};
