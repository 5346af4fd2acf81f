/**
 * Exponential backoff with full jitter. Pure: the random source is passed in.
 * @module
 */

/** Backoff parameters in milliseconds. */
export interface BackoffPolicy {
  /** The first retry's upper bound; it doubles with each retry. */
  baseMs: number;
  /** The most any delay can be. */
  capMs: number;
}

/** The default reconnect policy: 0.5 s doubling up to 30 s. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/** The delay before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)). */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
