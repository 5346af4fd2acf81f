/**
 * Starts one verify worker from its bundled source, as verify does, has it check bytes
 * [START, END) of `audits/moses/audit_ledger.jsonl` in the working directory (past the
 * first line), and prints its result as JSON. Run under the coordinator's own permission
 * set, it shows the workers need no leave beyond it.
 * @module
 */
import { VERIFY_WORKER_SOURCE } from "../../lib/ledger/_verify_worker_source.ts";

const [start, end] = Deno.args.map(Number);
const url = URL.createObjectURL(new Blob([VERIFY_WORKER_SOURCE], { type: "text/javascript" }));
const worker = new Worker(url, { type: "module" });
const message = await new Promise<Record<string, unknown>>((resolve, reject) => {
  worker.onmessage = (ev) => {
    if (!("progress" in ev.data)) resolve(ev.data);
  };
  worker.onerror = (ev) => {
    ev.preventDefault();
    reject(new Error(`The worker failed: ${ev.message}`));
  };
  worker.postMessage({
    path: "audits/moses/audit_ledger.jsonl",
    start,
    end,
    midChain: true,
    withIds: true,
  });
});
worker.terminate();
if (!("result" in message)) throw new Error(`The worker reported ${JSON.stringify(message)}`);
console.log(JSON.stringify(message.result));
