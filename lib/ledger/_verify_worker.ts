/**
 * A worker that checks one part of a ledger for {@link verifyLedger}.
 * @module
 */
import { checkRange, type RangeRequest } from "./verify.ts";
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
