/**
 * A worker that checks one part of a ledger for {@link verifyLedger}.
 * @module
 */
import { checkRange, type RangeRequest } from "./verify.ts";

interface WorkerScope {
  onmessage: ((ev: MessageEvent<RangeRequest>) => void) | null;
  postMessage(msg: unknown): void;
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
    scope.postMessage({ result });
  } catch (err) {
    scope.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
