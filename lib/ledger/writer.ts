/**
 * Queues findings and writes them to the ledger in groups (one lock, one write,
 * one fsync per group), retrying with backoff while the ledger cannot be written.
 * Nothing is lost while it fails: the queue holds up to `maxPending` findings and
 * counts any beyond that.
 * @module
 */
import {
  appendEntries,
  type AppendHooks,
  type AppendResult,
  appendSealed,
  type TornTailCut,
} from "./append.ts";
import {
  backoffDelay,
  type BackoffPolicy,
  type Clock,
  systemClock,
  type TimerId,
} from "../util/mod.ts";
import { errorText } from "../util/mod.ts";
import type { Finding, GovernanceFields } from "../rules/mod.ts";
import { recoveryEntry } from "./entries.ts";
import { findingSealer } from "./sealer.ts";

/** How the writer is set up. */
export interface WriterOptions {
  /** The ledger file. */
  ledgerPath: string;
  /** Most findings queued at once; more are dropped (and counted). */
  maxPending: number;
  /** The governance fields in force at write time. */
  governance: () => GovernanceFields;
  /** Called after each group is durable. */
  onWritten?: (findings: readonly Finding[], hashes: readonly string[]) => void;
  /** Called when a write fails (the group stays queued). */
  onError?: (message: string, pending: number) => void;
  /** Called when writes succeed again after failing. */
  onRecovered?: () => void;
  /** Called when a torn last line was cut and a `ledger_recovered` entry written. */
  onTornTail?: (cut: TornTailCut) => void;
  /** Called when a finding is dropped because the queue is full. */
  onDropped?: (finding: Finding) => void;
  /**
   * Called when one of the callbacks above throws (console.error when absent or when it
   * throws too). A throwing callback changes nothing in the writer: what is durable is
   * never written again, and the writer is not marked failing.
   */
  onCallbackError?: (callback: CallbackName, err: unknown) => void;
  /** Delays between failed writes (default 0.25 s doubling up to 10 s). */
  retry?: BackoffPolicy;
  /** Most findings written in one append (default 4096). */
  maxGroup?: number;
  /** Time for retries, flush deadlines, `busyFor` and `lastWriteAt`; the system clock by default. */
  clock?: Clock;
  /** The backoff's jitter source, in [0, 1); Math.random by default. */
  random?: () => number;
  /** Monotonic milliseconds the fsync is timed with (see {@link AppendHooks.monotonicNow}). */
  monotonicNow?: () => number;
}

/** The callbacks of {@link WriterOptions} whose errors are caught. */
export type CallbackName = "onWritten" | "onError" | "onRecovered" | "onTornTail" | "onDropped";

const DEFAULT_RETRY: BackoffPolicy = { baseMs: 250, capMs: 10_000 };
/** An inline fsync slower than this, in ms, means a slow disk: fsync in the background. */
const SLOW_FSYNC_MS = 1_000;
/** A background fsync faster than this, in ms, means the disk is answering again. */
const FAST_FSYNC_MS = 20;
/** How long flush waits after a failed retry before the next. */
const FLUSH_RETRY_MS = 100;

/** The ledger writer; one per ledger path in a process. */
export class LedgerWriter {
  readonly #opts: WriterOptions;
  readonly #clock: Clock;
  #queue: Finding[] = [];
  #draining: Promise<void> | undefined;
  #retryTimer: TimerId | undefined;
  #attempt = 0;
  #stopped = false;
  #written = 0;
  #dropped = 0;
  #lastError: string | undefined;
  #lastWriteAt: number | undefined;
  // When the append under way started, and whether it holds the lock (and so is writing).
  #appendStartedAt: number | undefined;
  #writing = false;
  #abandon = false;
  // Fsync inline (see AppendHooks.fsyncInline) unless the disk has been slow.
  #fsyncInline = true;

  /** Creates a writer; nothing is opened until the first finding. */
  constructor(opts: WriterOptions) {
    this.#opts = { retry: DEFAULT_RETRY, maxGroup: 4096, ...opts };
    this.#clock = opts.clock ?? systemClock;
  }

  /** Findings waiting to be written. */
  get pending(): number {
    return this.#queue.length;
  }
  /** Findings written durably. */
  get written(): number {
    return this.#written;
  }
  /** Findings dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }
  /** The last write error, while writes are failing. */
  get lastError(): string | undefined {
    return this.#lastError;
  }
  /** Whether the last write attempt failed. */
  get failing(): boolean {
    return this.#lastError !== undefined;
  }
  /** When the last group was made durable (ms since the epoch). */
  get lastWriteAt(): number | undefined {
    return this.#lastWriteAt;
  }
  /** Whether the next append fsyncs inline: true unless the last fsyncs were slow. */
  get fsyncInline(): boolean {
    return this.#fsyncInline;
  }
  /** How long the append under way has been running (waiting for the lock, or writing), in ms. */
  busyFor(now: number = this.#clock.now()): number {
    return this.#appendStartedAt === undefined ? 0 : now - this.#appendStartedAt;
  }
  // How a torn last line found by an append is recorded: governance as at write time.
  readonly #recover = (cut: TornTailCut) =>
    recoveryEntry(cut, this.#opts.governance(), this.#clock.now());

  /**
   * Repairs a torn last line now, without waiting for a finding to write (at start): the
   * same repair every append makes. Throws a LedgerError when the ledger cannot be repaired.
   */
  async repairTornTail(): Promise<void> {
    const { recovered } = await appendEntries(this.#opts.ledgerPath, [], this.#hooks({}));
    if (recovered) this.#notify("onTornTail", (o) => o.onTornTail?.(recovered.cut));
  }

  /** A copy of the queued findings (for the snapshot). */
  queued(): Finding[] {
    return [...this.#queue];
  }

  /** Queues a finding; returns false (and counts it) when the queue is full. */
  enqueue(v: Finding): boolean {
    if (this.#queue.length >= this.#opts.maxPending) {
      this.#dropped++;
      this.#notify("onDropped", (o) => o.onDropped?.(v));
      return false;
    }
    this.#queue.push(v);
    if (this.#retryTimer === undefined) this.#kick();
    return true;
  }

  #kick(): void {
    if (this.#draining !== undefined || this.#stopped) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length > 0 && this.#retryTimer === undefined) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    try {
      await this.#drainGroups();
    } finally {
      this.#appendStartedAt = undefined;
      this.#writing = false;
    }
  }

  async #drainGroups(): Promise<void> {
    while (this.#queue.length > 0 && !this.#abandon) {
      const group = this.#queue.slice(0, this.#opts.maxGroup);
      this.#appendStartedAt = this.#clock.now();
      this.#writing = false;
      let result: AppendResult;
      try {
        // Inside the try: governance read at write time, or a finding that cannot be sealed,
        // is a failed append (retried, reported), never an unhandled rejection.
        const sealers = group.map(findingSealer(this.#opts.governance()));
        result = await appendSealed(
          this.#opts.ledgerPath,
          sealers,
          this.#hooks({
            proceed: () => !this.#abandon,
            onLocked: () => {
              this.#writing = true;
            },
            fsyncInline: this.#fsyncInline,
          }),
        );
      } catch (err) {
        if (this.#abandon) return;
        const message = errorText(err);
        this.#lastError = message;
        this.#notify("onError", (o) => o.onError?.(message, this.#queue.length));
        if (!this.#stopped) {
          const delay = backoffDelay(this.#attempt++, this.#opts.retry!, this.#opts.random);
          this.#retryTimer = this.#clock.setTimeout(() => {
            this.#retryTimer = undefined;
            this.#kick();
          }, delay);
        }
        return;
      }
      // Durable: the group leaves the queue before any callback runs, so nothing a callback
      // does can have it written twice or mark the writer failing.
      const { hashes, recovered, fsyncMs = 0 } = result;
      this.#appendStartedAt = undefined;
      this.#queue.splice(0, group.length);
      this.#written += group.length;
      this.#lastWriteAt = this.#clock.now();
      this.#attempt = 0;
      // Inline, a disk that stalls would stall the whole daemon: after one slow fsync the
      // writer waits for the disk in the background until it is quick again.
      if (this.#fsyncInline && fsyncMs > SLOW_FSYNC_MS) this.#fsyncInline = false;
      else if (!this.#fsyncInline && fsyncMs < FAST_FSYNC_MS) this.#fsyncInline = true;
      const wasFailing = this.#lastError !== undefined;
      this.#lastError = undefined;
      if (recovered) this.#notify("onTornTail", (o) => o.onTornTail?.(recovered.cut));
      if (wasFailing) this.#notify("onRecovered", (o) => o.onRecovered?.());
      this.#notify("onWritten", (o) => o.onWritten?.(group, hashes));
    }
  }

  // The hooks every append gets, with `more`.
  #hooks(more: AppendHooks): AppendHooks {
    const hooks: AppendHooks = { ...more, recover: this.#recover };
    if (this.#opts.monotonicNow) hooks.monotonicNow = this.#opts.monotonicNow;
    return hooks;
  }

  // Runs one callback; what it throws is reported, never let into the writer's control flow.
  #notify(name: CallbackName, call: (opts: WriterOptions) => void): void {
    try {
      call(this.#opts);
    } catch (err) {
      const report = this.#opts.onCallbackError;
      if (report !== undefined) {
        try {
          report(name, err);
          return;
        } catch { /* fall back to stderr */ }
      }
      try {
        console.error(`Ledger writer: the ${name} callback threw: ${errorText(err)}`);
      } catch { /* stderr is gone too: nothing is left to tell */ }
    }
  }

  /**
   * Waits until the queue is empty or `timeoutMs` has passed, retrying at once
   * rather than waiting out the backoff. Returns whether everything was written.
   * An append stuck behind another process's lock does not hold it past the deadline.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const clock = this.#clock;
    const deadline = clock.now() + timeoutMs;
    while (clock.now() < deadline) {
      if (this.#draining) await within(clock, this.#draining, deadline - clock.now());
      if (this.#queue.length === 0) return true;
      if (this.#draining) continue;
      clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#kick();
      if (this.#draining) await within(clock, this.#draining, deadline - clock.now());
      // A failed retry comes back at once: wait a little before the next.
      if (this.#queue.length > 0) await within(clock, undefined, FLUSH_RETRY_MS);
    }
    return this.#queue.length === 0;
  }

  /**
   * Stops: no new append starts, an append still waiting for the lock is abandoned
   * (it will write nothing), and an append already writing is finished.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abandon = true;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#draining && this.#writing) await this.#draining;
  }
}

// Waits for `p` (if any), but no longer than `ms` on `clock`.
async function within(clock: Clock, p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: TimerId | undefined;
  const expired = new Promise((
    r,
  ) => (timer = clock.setTimeout(() => r(undefined), Math.max(0, ms))));
  await (p === undefined ? expired : Promise.race([p, expired]));
  clock.clearTimeout(timer);
}
