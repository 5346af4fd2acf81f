/**
 * Writing the status file, only when what it says changes: one write at a time, a burst of
 * changes coalesced into one, moving counters at most every {@link COUNTERS_WRITE_MS}, and a
 * timer only while time alone will change the report (a blocked append, a quiet legacy link).
 * A daemon that is gone is told by its instance lock, not by the file's age, so an idle
 * daemon writes nothing.
 * @module
 */
import { type Clock, errorText, systemClock, type TimerId } from "../../util/mod.ts";
import type { Logger } from "../log.ts";
import { type StatusReport, writeStatus } from "../status.ts";

/** Changes within this many ms are written together. */
export const STATUS_COALESCE_MS = 50;
/** After a failed write, the next try, in ms. */
export const STATUS_RETRY_MS = 5_000;
/** While only counters move, the file is rewritten at most this often, in ms. */
export const COUNTERS_WRITE_MS = 2_000;

/** How the status file writer is set up. */
export interface StatusFileWriterOptions {
  /** The status file. */
  path: string;
  /** Builds the report at write time (`final` at stop). */
  report: (opts: { final: boolean }) => StatusReport;
  /** When time alone will next change the report's state or reasons (ms), if it will. */
  changesAt?: (now: number) => number | undefined;
  /** Where a failed write is said. */
  logger: Logger;
  /** Time for the delays (default: the system clock). */
  clock?: Clock;
  /** Writes the file (tests; default: writeStatus). */
  write?: (path: string, report: StatusReport) => Promise<void>;
}

/** Writes the status file from a report, when it changed. */
export class StatusFileWriter {
  readonly #o: StatusFileWriterOptions;
  readonly #clock: Clock;
  readonly #write: (path: string, report: StatusReport) => Promise<void>;
  #writing: Promise<void> = Promise.resolve();
  #queued: TimerId | undefined;
  #queuedAt = Infinity;
  #lastWritten: string | undefined;
  #writes = 0;
  #stopped = false;

  /** Writes nothing until asked. */
  constructor(opts: StatusFileWriterOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#write = opts.write ?? writeStatus;
  }

  /** Files written so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Writes now (after any write under way) if the report changed since the last write. */
  flush(): Promise<void> {
    return this.#flush(false);
  }

  #flush(final: boolean): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const report = this.#o.report({ final });
      // updatedAt alone is no change: a report equal but for it is not written again.
      const key = JSON.stringify({ ...report, updatedAt: "" });
      if (!final) this.#recheck();
      if (key === this.#lastWritten) return;
      try {
        await this.#write(this.#o.path, report);
        this.#lastWritten = key;
        this.#writes++;
      } catch (err) {
        this.#o.logger.warn(`Cannot write status file ${this.#o.path}: ${errorText(err)}`);
        // What it says is not written yet: a timer while it is not.
        if (!final) this.#at(this.#clock.now() + STATUS_RETRY_MS);
      }
    });
    return this.#writing;
  }

  // A timer only while time alone will change what the report says.
  #recheck(): void {
    const now = this.#clock.now();
    const at = this.#o.changesAt?.(now);
    if (at === undefined) return;
    this.#at(Math.max(at, now + STATUS_COALESCE_MS));
  }

  /** Something changed (state, reasons): write soon, once for a burst of changes. */
  schedule(): void {
    this.#at(this.#clock.now() + STATUS_COALESCE_MS);
  }

  /** Counters moved: write within {@link COUNTERS_WRITE_MS}. */
  countersMoved(): void {
    this.#at(this.#clock.now() + COUNTERS_WRITE_MS);
  }

  // One timer, at the earliest time asked for.
  #at(when: number): void {
    if (this.#stopped || when >= this.#queuedAt) return;
    this.#clock.clearTimeout(this.#queued);
    this.#queuedAt = when;
    this.#queued = this.#clock.setTimeout(() => {
      this.#queued = undefined;
      this.#queuedAt = Infinity;
      void this.flush();
    }, when - this.#clock.now());
  }

  /** Stops the timer and writes the final report (STOPPED), kept for after the exit. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#queued);
    this.#queued = undefined;
    this.#queuedAt = Infinity;
    await this.#flush(true);
  }
}
