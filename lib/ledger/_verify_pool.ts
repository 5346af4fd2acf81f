/**
 * Checks the parts of a ledger on this thread and on workers at once. The parts are small
 * (a few MiB) and handed out one at a time, to whichever thread is free: a worker on a
 * busy core simply takes fewer. This thread takes parts too, and when none is left it
 * checks a part a worker still holds rather than wait for it: a worker that is slow,
 * stalled or gone costs at most one part.
 * @module
 */
import { checkRange, MAX_KEPT, type RangeRequest, type RangeResult } from "./_check_range.ts";
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
  /**
   * The process's CPU time so far, in ms. With it, the threads are measured once the
   * workers are under way: below `minParallelism` cores' worth of CPU over wall time (by
   * default 1 + half a core a worker), they only take turns on cores other work holds, and
   * the workers are ended (their parts are checked here).
   */
  cpuTime?: () => number;
  /** See {@link PoolOptions.cpuTime}. */
  minParallelism?: number;
  /** Checks a part on this thread (for tests; {@link checkRange} by default). */
  checkHere?: typeof checkRange;
}

// Parts checked, by any thread, over which the threads are measured: enough to see past
// one slow part, few enough to stop soon.
const PROBE_PARTS = 4;

/** What {@link checkParts} yields: each part's result, in order, and who checked them. */
export interface PoolResult {
  /** Each part's result, in the order of the parts. */
  results: RangeResult[];
  /** Parts whose result came from a worker. */
  byWorkers: number;
  /** CPU time over wall time while the threads were measured, if they were. */
  parallelism: number | undefined;
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
  let done = 0;
  let probe: { wall: number; cpu: number; done: number } | undefined;
  let parallelism: number | undefined;
  // The part this thread is checking: not handed out again when a worker gives it back.
  let here: number | undefined;
  const take = () => {
    while (again.length > 0) {
      const part = again.shift()!;
      if (results[part] === undefined && part !== here) return part;
    }
    return next < reqs.length ? next++ : undefined;
  };
  // Only the first MAX_KEPT problems in line order are reported: once the parts from the
  // start hold that many, a later part's are dropped as it lands (their count stays), so a
  // ledger broken on every line costs a few parts' problems, not the whole file's.
  let keptFrom = 0;
  let keptSoFar = 0;
  const land = (part: number, result: RangeResult) => {
    results[part] = result;
    while (keptFrom < results.length && results[keptFrom] !== undefined) {
      const r = results[keptFrom++]!;
      if (keptSoFar >= MAX_KEPT) r.problems = [];
      keptSoFar += r.problems.length;
    }
    if (keptSoFar >= MAX_KEPT && part >= keptFrom) result.problems = [];
  };
  const end = (worker: Worker) => {
    const i = live.indexOf(worker);
    if (i < 0) return;
    live.splice(i, 1);
    held.delete(worker);
    worker.terminate();
    opts.onLive?.(-1);
  };
  // Ends a worker whose part, if any, is checked again.
  const dismiss = (worker: Worker) => {
    const part = held.get(worker);
    end(worker);
    if (part !== undefined && results[part] === undefined) again.push(part);
  };
  // Measures from a worker's first result (it has started and warmed up) over PROBE_PARTS.
  const measure = () => {
    done++;
    const cpuTime = opts.cpuTime;
    if (cpuTime === undefined || parallelism !== undefined || byWorkers === 0) return;
    if (probe === undefined) {
      probe = { wall: performance.now(), cpu: cpuTime(), done };
      return;
    }
    if (done - probe.done < PROBE_PARTS) return;
    const wall = performance.now() - probe.wall;
    parallelism = wall > 0 ? (cpuTime() - probe.cpu) / wall : 0;
    if (parallelism < (opts.minParallelism ?? 1 + opts.workers / 2)) {
      for (const worker of [...live]) dismiss(worker);
    }
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
          land(part, msg.result);
          byWorkers++;
          measure();
        }
        // The measure may have ended it.
        if (live.includes(worker)) give(worker);
      } else {
        failure ??= { error: fromWorkerError(msg.error) };
        end(worker);
      }
    };
    worker.onerror = (ev) => {
      // The worker itself failed (it could not start, or threw): its part is checked again.
      ev.preventDefault();
      dismiss(worker);
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
      // None left to hand out: check one a worker still holds rather than wait for it (a
      // held part has no result yet: a result frees it, and checking it here ends its worker).
      const part = take() ?? held.values().next().value;
      if (part === undefined) break;
      here = part;
      const result = await (opts.checkHere ?? checkRange)(
        reqs[part]!,
        (bytes) => opts.onProgress(part, bytes),
      );
      here = undefined;
      if (results[part] === undefined) {
        land(part, result);
        measure();
      }
      // A worker that held it is working on something already done: end it.
      for (const [worker, p] of held) if (p === part) end(worker);
    }
    if (failure !== undefined) throw failure.error;
    return { results: results as RangeResult[], byWorkers, parallelism };
  } finally {
    for (const worker of [...live]) end(worker);
  }
}
