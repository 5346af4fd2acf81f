/**
 * The governance in force, from `governance/state.json`: read at start, and again when the
 * file changes (watched, not polled), one read at a time, so an older read can never
 * overwrite a newer one. The permission set grants the file, not `governance/`, so the file
 * itself is watched, and the watch is made again after each change: an editor or MO§ES that
 * replaces the file (write a temporary file, rename it over) leaves the old watch on a file
 * that is gone.
 * @module
 */
import { DEFAULT_GOVERNANCE, type Governance } from "../../rules/mod.ts";
import { type Clock, errorText, systemClock, type TimerId } from "../../util/mod.ts";
import { type GovernanceRead, readGovernance } from "../governance.ts";
import type { Logger } from "../log.ts";

/** Changes to state.json within this many ms are read once. */
export const GOVERNANCE_DEBOUNCE_MS = 100;
/**
 * While state.json cannot be watched (it does not exist yet), how often it is looked for,
 * in ms: its directory cannot be watched without a grant on all of `governance/`.
 */
export const GOVERNANCE_MISSING_RETRY_MS = 5_000;

/** A file watcher: the events, and a way to stop them. */
export interface FileWatcher extends AsyncIterable<unknown> {
  /** Stops watching; the iteration ends. */
  close(): void;
}

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
  readonly #watch: (path: string) => FileWatcher;
  readonly #onChange: () => void;
  #watcher: FileWatcher | undefined;
  #watchError: string | undefined;
  #timer: TimerId | undefined;
  #started = false;
  #stopped = false;

  /**
   * `onChange` is called, once started, when a read changed the governance or its error;
   * `read` and `watch` are for tests (default: readGovernance, Deno.watchFs).
   */
  constructor(opts: {
    path: string;
    logger: Logger;
    clock?: Clock;
    onChange?: () => void;
    read?: (path: string, fallback: Governance) => Promise<GovernanceRead>;
    watch?: (path: string) => FileWatcher;
  }) {
    this.#path = opts.path;
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    this.#read = opts.read ?? readGovernance;
    this.#watch = opts.watch ?? ((path) => Deno.watchFs(path, { recursive: false }));
    this.#onChange = opts.onChange ?? (() => {});
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
    const changed = read.error !== this.#error ||
      JSON.stringify(read.governance) !== JSON.stringify(this.#governance);
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
    if (changed && this.#started) this.#onChange();
  }

  /** Watches state.json: each change (a burst of them) is read once. */
  start(): void {
    this.#started = true;
    this.#arm();
  }

  // Watches the file as it is now; then a change is one read after a short quiet.
  #arm(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#stopped) return;
    let watcher: FileWatcher;
    try {
      watcher = this.#watch(this.#path);
    } catch (err) {
      const why = errorText(err);
      if (why !== this.#watchError && !(err instanceof Deno.errors.NotFound)) {
        this.#logger.warn(
          `Cannot watch ${this.#path}: ${why}; looking at it every ` +
            `${GOVERNANCE_MISSING_RETRY_MS / 1000} s instead`,
        );
      }
      this.#watchError = why;
      this.#later(GOVERNANCE_MISSING_RETRY_MS);
      return;
    }
    this.#watchError = undefined;
    this.#watcher = watcher;
    void this.#follow(watcher);
  }

  async #follow(watcher: FileWatcher): Promise<void> {
    try {
      for await (const _ of watcher) {
        if (watcher !== this.#watcher) return;
        // Closed now, made again after the quiet: Deno does not watch a path again while
        // a closed watch of it is still being taken down (a watch made at once sees nothing).
        this.#watcher = undefined;
        watcher.close();
        this.#later(GOVERNANCE_DEBOUNCE_MS);
        return;
      }
    } catch (err) {
      if (watcher !== this.#watcher) return;
      this.#logger.warn(`Watching ${this.#path} failed: ${errorText(err)}; watching it again`);
      this.#later(GOVERNANCE_MISSING_RETRY_MS);
    }
  }

  // One timer at a time: the watch is made again (the file may be a new one), then read.
  #later(ms: number): void {
    if (this.#stopped) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      // Watched before reading: a change after this read is an event on the new watch.
      this.#arm();
      void this.refresh();
    }, ms);
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
