/**
 * A worker that checks parts of a ledger for verify, one at a time. It runs from its bundled
 * source (`_verify_worker_source.ts`, made by `deno task bundle-worker`): keep its imports
 * to what that can bundle (no `node:` modules, nothing that imports the bundle).
 * @module
 */
import { checkRange, type RangeRequest } from "./_check_range.ts";
import { toWorkerError } from "./_worker_error.ts";

interface WorkerScope {
  onmessage: ((ev: MessageEvent<RangeRequest>) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let lastReport = 0;

scope.onmessage = async (ev) => {
  try {
    const result = await checkRange(ev.data, (bytes) => {
      const now = Date.now();
      if (now - lastReport < 100) return;
      lastReport = now;
      scope.postMessage({ progress: bytes });
    });
    // The id list can be large: its buffers are moved, not copied.
    const ids = result.ids;
    scope.postMessage({ result }, ids ? [ids.buffer] : []);
  } catch (err) {
    // The error's class goes with it, so that the CLI tells a permission error from a missing file.
    scope.postMessage({ error: toWorkerError(err) });
  }
};
