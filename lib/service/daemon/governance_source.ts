/**
 * The governance in force, from `governance/state.json`: read at start and refreshed, one
 * read at a time, so an older read can never overwrite a newer one.
 * @module
 */
import { DEFAULT_GOVERNANCE, type Governance } from "../../rules/mod.ts";
import { type Clock, systemClock, type TimerId } from "../../util/mod.ts";
import { type GovernanceRead, readGovernance } from "../governance.ts";
import type { Logger } from "../log.ts";

/** How often state.json is read again, in ms. */
export const GOVERNANCE_REFRESH_MS = 1_000;

/** Reads and keeps the governance state. */
export class GovernanceSource {
  readonly #path: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #read: (path: string, fallback: Governance) => Promise<GovernanceRead>;
  #governance: Governance = DEFAULT_GOVERNANCE;
  #error: string | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #timer: TimerId | undefined;
  #stopped = false;

  /** `read` is for tests (default: readGovernance). */
  constructor(opts: {
    path: string;
    logger: Logger;
    clock?: Clock;
    read?: (path: string, fallback: Governance) => Promise<GovernanceRead>;
  }) {
    this.#path = opts.path;
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    this.#read = opts.read ?? readGovernance;
  }

  /** The governance in force. */
  get governance(): Governance {
    return this.#governance;
  }

  /** Why state.json could not be used last time it was read, if it could not. */
  get error(): string | undefined {
    return this.#error;
  }

  /**
   * Reads state.json again. A call while a read is under way does not start a second one:
   * it asks for one more read after it, whose result is the one kept.
   */
  refresh(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        this.#apply(await this.#read(this.#path, this.#governance));
      } while (this.#again);
    })().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  #apply(read: GovernanceRead): void {
    if (read.error !== undefined && read.error !== this.#error) {
      this.#logger.warn(`${read.error}; keeping the last good governance state`);
    }
    this.#error = read.error;
    if (read.governance.broadcast !== this.#governance.broadcast) {
      if (read.governance.broadcast) {
        this.#logger.info("sequence enforcement off", { reason: read.governance.reason });
      } else this.#logger.info("sequence enforcement on");
    }
    this.#governance = read.governance;
  }

  /** Reads again every {@link GOVERNANCE_REFRESH_MS}. */
  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      void this.refresh().finally(() => {
        if (!this.#stopped) this.#timer = this.#clock.setTimeout(tick, GOVERNANCE_REFRESH_MS);
      });
    };
    this.#timer = this.#clock.setTimeout(tick, GOVERNANCE_REFRESH_MS);
  }

  /** Stops reading. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
  }
}
