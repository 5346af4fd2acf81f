/**
 * How often the daemon says the same thing: a coordinator left running for months must not
 * fill the log with one line per retry, drop or failed connection, yet must say at once when
 * something new goes wrong.
 * @module
 */
import type { Finding } from "../../rules/mod.ts";
import { type Clock, systemClock, type TimerId } from "../../util/mod.ts";
import type { Logger } from "../log.ts";

/** The same ledger write error is logged again after this long. */
export const WRITE_ERROR_REPEAT_MS = 60_000;
/** Drops after the first of a burst are counted into one line after this long. */
export const DROP_LOG_INTERVAL_MS = 10_000;
/** A gateway that stays down is mentioned again after this long. */
export const FAILURE_LOG_INTERVAL_MS = 10 * 60_000;

/** A link going down, as the log needs it. */
export interface LinkDown {
  /** Why it went down (no secrets, no agent text). */
  reason: string;
  /** Wait before the next attempt, in ms. */
  retryInMs: number;
  /** The gateway announced a restart. */
  planned: boolean;
  /** It was connected until now (rather than failing to connect). */
  wasConnected: boolean;
  /** The gateway's WebSocket URL. */
  gateway: string;
}

/** The daemon's log throttles. */
export class LogPolicy {
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #droppedInAll: () => number;
  #lastWriteError: string | undefined;
  #lastWriteErrorLog = -Infinity;
  // Drops since the last drop line, while a burst of them is being counted.
  #dropsUnlogged: number | undefined;
  #dropTimer: TimerId | undefined;
  #failedAttempts = 0;
  #quietUntil = 0;
  #lastFailureLog = -Infinity;
  #stoppingSaid = false;

  /** `droppedInAll` gives the total dropped so far, for the burst's closing line. */
  constructor(opts: { logger: Logger; clock?: Clock; droppedInAll: () => number }) {
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    this.#droppedInAll = opts.droppedInAll;
  }

  /** Failed connection attempts since the link was last up. */
  get failedAttempts(): number {
    return this.#failedAttempts;
  }

  /**
   * A ledger write failed. Retries come every few seconds (every 100 ms while stopping):
   * a changed error is logged at once, the same one once a minute.
   */
  writeError(message: string, pending: number): void {
    const now = this.#clock.now();
    if (
      message !== this.#lastWriteError || now - this.#lastWriteErrorLog >= WRITE_ERROR_REPEAT_MS
    ) {
      this.#lastWriteError = message;
      this.#lastWriteErrorLog = now;
      this.#logger.error(message, { pending });
    }
  }

  /**
   * A finding was dropped (queue full). Each was logged when seen; the first drop of a burst
   * is an error at once, the rest are counted into one line: an error line per drop would be
   * written at once, each, just when the coordinator is furthest behind.
   */
  dropped(f: Finding): void {
    if (this.#dropsUnlogged !== undefined) {
      this.#dropsUnlogged++;
      return;
    }
    this.#logger.error(
      "violation dropped: too many waiting to be written (maxPendingViolations); " +
        "it is in the log above but not in the ledger",
      { conversation: f.conversation, agent: f.agent },
    );
    this.#dropsUnlogged = 0;
    this.#dropTimer = this.#clock.setTimeout(() => this.flushDrops(), DROP_LOG_INTERVAL_MS);
  }

  /** Logs the drops counted since the burst's first line (at the interval, and at stop). */
  flushDrops(): void {
    this.#clock.clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    if (this.#dropsUnlogged !== undefined && this.#dropsUnlogged > 0) {
      this.#logger.error(
        `${this.#dropsUnlogged} more violations dropped: too many waiting to be written`,
        { droppedInAll: this.#droppedInAll() },
      );
    }
    this.#dropsUnlogged = undefined;
  }

  /** The link came up. */
  linkUp(): void {
    this.#failedAttempts = 0;
  }

  /**
   * The link is down. A gateway that stays down for days must not fill the log: the first
   * failure, then a reminder every ten minutes. A restart the gateway announced is not a
   * failure, and failing to connect while it restarts is expected.
   */
  linkDown(d: LinkDown): void {
    this.#failedAttempts = d.wasConnected ? 0 : this.#failedAttempts + 1;
    const now = this.#clock.now();
    if (d.planned) {
      this.#quietUntil = now + d.retryInMs + 60_000;
      this.#logger.info("gateway restarting", { reason: d.reason, retryInMs: d.retryInMs });
    } else if (now < this.#quietUntil && !d.wasConnected) {
      this.#logger.info("waiting for the gateway to come back", {
        reason: d.reason,
        retryInMs: d.retryInMs,
      });
    } else if (
      d.wasConnected || this.#failedAttempts === 1 ||
      now - this.#lastFailureLog >= FAILURE_LOG_INTERVAL_MS
    ) {
      this.#lastFailureLog = now;
      this.#logger.warn(d.wasConnected ? "disconnected" : "cannot connect", {
        gateway: d.gateway,
        reason: d.reason,
        attempts: d.wasConnected ? undefined : this.#failedAttempts,
        retryInMs: d.retryInMs,
      });
    }
  }

  /**
   * A stop signal arrived while already stopping: a service manager, a launcher and a
   * terminal may each pass the same stop on. Said once, not once per signal.
   */
  alreadyStopping(): void {
    if (this.#stoppingSaid) return;
    this.#stoppingSaid = true;
    this.#logger.info("already stopping");
  }
}
