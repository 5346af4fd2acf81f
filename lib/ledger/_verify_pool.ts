/**
 * Checks the parts of a ledger on this thread and on workers at once. The parts are small
 * (a few MiB) and handed out one at a time, to whichever thread is free: a worker on a
 * busy core simply takes fewer. This thread takes parts too, and when none is left it
 * checks a part a worker still holds rather than wait for it: a worker that is slow,
 * stalled or gone costs at most one part.
 * @module
 */
import { checkRange, type RangeRequest, type RangeResult } from "./_check_range.ts";
import { fromWorkerError, type WorkerError } from "./_worker_error.ts";

/** What a verify worker posts back. */
export type WorkerMessage =
  | { progress: number }
  | { result: RangeResult }
  | { error: WorkerError };

/** How {@link checkParts} runs. */
export interface PoolOptions {
  /** Workers to start besides this thread. */
  workers: number;
  /** The module the workers run. */
  workerUrl: string;
  /** Called with a part's bytes read so far. */
  onProgress: (part: number, bytes: number) => void;
  /** Told when a worker starts (+1) and ends (-1). */
  onLive?: (change: 1 | -1) => void;
}

/** What {@link checkParts} yields: each part's result, in order, and who checked them. */
export interface PoolResult {
  /** Each part's result, in the order of the parts. */
  results: RangeResult[];
  /** Parts whose result came from a worker. */
  byWorkers: number;
}

/**
 * Checks every part; resolves to their results in order. Rejects with the first error a
 * worker reports (re-created with its class, so a permission error stays one), or one
 * this thread meets. Every worker is ended before it returns or throws.
 */
export async function checkParts(reqs: RangeRequest[], opts: PoolOptions): Promise<PoolResult> {
  const results = new Array<RangeResult | undefined>(reqs.length);
  let next = 0;
  // Parts a failed worker held, to be checked again.
  const again: number[] = [];
  const held = new Map<Worker, number>();
  const live: Worker[] = [];
  let failure: { error: unknown } | undefined;
  let byWorkers = 0;
  let wake: (() => void) | undefined;
  const take = () => again.shift() ?? (next < reqs.length ? next++ : undefined);
  const end = (worker: Worker) => {
    const i = live.indexOf(worker);
    if (i < 0) return;
    live.splice(i, 1);
    held.delete(worker);
    worker.terminate();
    opts.onLive?.(-1);
  };
  const give = (worker: Worker) => {
    const part = failure === undefined ? take() : undefined;
    if (part === undefined) return end(worker);
    held.set(worker, part);
    worker.postMessage(reqs[part]);
  };
  const start = () => {
    const worker = new Worker(opts.workerUrl, { type: "module" });
    live.push(worker);
    opts.onLive?.(1);
    worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      const msg = ev.data;
      const part = held.get(worker);
      if (part === undefined) return;
      if ("progress" in msg) return opts.onProgress(part, msg.progress);
      held.delete(worker);
      if ("result" in msg) {
        // This thread may have checked it already, when the worker was slow.
        if (results[part] === undefined) {
          results[part] = msg.result;
          byWorkers++;
        }
        give(worker);
      } else {
        failure ??= { error: fromWorkerError(msg.error) };
        end(worker);
      }
      wake?.();
    };
    worker.onerror = (ev) => {
      // The worker itself failed (it could not start, or threw): its part is checked again.
      ev.preventDefault();
      const part = held.get(worker);
      end(worker);
      if (part !== undefined && results[part] === undefined) again.push(part);
      wake?.();
    };
    give(worker);
  };
  try {
    for (let k = 0; k < opts.workers; k++) {
      try {
        start();
      } catch {
        // No worker here (the runtime refused it): this thread does the work.
      }
    }
    while (failure === undefined) {
      let part = take();
      // None left to hand out: check one a worker still holds rather than wait for it.
      part ??= [...held.values()].find((p) => results[p] === undefined);
      if (part === undefined) {
        if (held.size === 0 && again.length === 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const result = await checkRange(reqs[part]!, (bytes) => opts.onProgress(part, bytes));
      results[part] ??= result;
      // A worker that held it is working on something already done: end it.
      for (const [worker, p] of held) if (p === part) end(worker);
    }
    if (failure !== undefined) throw failure.error;
    return { results: results as RangeResult[], byWorkers };
  } finally {
    for (const worker of [...live]) end(worker);
  }
}
