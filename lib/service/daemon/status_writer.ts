/**
 * Writing the status file: one write at a time, bursts of changes coalesced into one, and
 * a refresh every {@link STATUS_INTERVAL_MS} so `status` can tell a live daemon from a dead one.
 * @module
 */
import { type Clock, errorText, systemClock, type TimerId } from "../../util/mod.ts";
import type { Logger } from "../log.ts";
import { STATUS_INTERVAL_MS, type StatusReport, writeStatus } from "../status.ts";

/** Changes within this many ms are written together. */
export const STATUS_COALESCE_MS = 50;

/** Writes the status file from a report. */
export class StatusFileWriter {
  readonly #path: string;
  readonly #report: (opts: { final: boolean }) => StatusReport;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #write: (path: string, report: StatusReport) => Promise<void>;
  #writing: Promise<void> = Promise.resolve();
  #queued: TimerId | undefined;
  #interval: TimerId | undefined;
  #stopped = false;

  /** `report` builds the report at write time (`final` at stop); `write` is for tests. */
  constructor(opts: {
    path: string;
    report: (opts: { final: boolean }) => StatusReport;
    logger: Logger;
    clock?: Clock;
    write?: (path: string, report: StatusReport) => Promise<void>;
  }) {
    this.#path = opts.path;
    this.#report = opts.report;
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    this.#write = opts.write ?? writeStatus;
  }

  /** Writes now (after any write under way). */
  flush(): Promise<void> {
    return this.#flush(false);
  }

  #flush(final: boolean): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      try {
        await this.#write(this.#path, this.#report({ final }));
      } catch (err) {
        this.#logger.warn(`Cannot write status file ${this.#path}: ${errorText(err)}`);
      }
    });
    return this.#writing;
  }

  /** Something changed: write soon, once for a burst of changes. */
  schedule(): void {
    if (this.#queued !== undefined || this.#stopped) return;
    this.#queued = this.#clock.setTimeout(() => {
      this.#queued = undefined;
      void this.flush();
    }, STATUS_COALESCE_MS);
  }

  /** Starts the periodic refresh. */
  start(): void {
    const tick = () => {
      this.#interval = this.#clock.setTimeout(tick, STATUS_INTERVAL_MS);
      void this.flush();
    };
    this.#interval = this.#clock.setTimeout(tick, STATUS_INTERVAL_MS);
  }

  /** Stops the timers and writes the final report. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#interval);
    this.#clock.clearTimeout(this.#queued);
    this.#queued = undefined;
    await this.#flush(true);
  }
}
