/**
 * A stand-in for verify's worker (`verifyTesting.workerUrl`): the part that starts the file
 * never answers, as a part still being read; every other part fails as `?fail=` says:
 * `read` reports a permission error the way the real worker reports one, `crash` throws
 * (the worker itself fails).
 * @module
 */
interface WorkerScope {
  onmessage: ((ev: MessageEvent<{ start: number }>) => void) | null;
  postMessage(msg: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
const fail = new URL(import.meta.url).searchParams.get("fail");

scope.onmessage = (ev) => {
  if (ev.data.start === 0) return;
  if (fail === "crash") throw new Error("the stub worker crashed");
  scope.postMessage({
    error: { kind: "NotCapable", message: 'Requires read access to "ledger.jsonl"' },
  });
};
