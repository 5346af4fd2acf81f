import { assert, assertEquals } from "../../support/assert.ts";
import { appendEntries } from "../../../lib/ledger/append.ts";
import { checkRange, splitAtLines } from "../../../lib/ledger/verify.ts";
import { checkParts } from "../../../lib/ledger/_verify_pool.ts";
import { VERIFY_WORKER_SOURCE } from "../../../lib/ledger/_verify_worker_source.ts";
import { tempDir } from "../../support/helpers.ts";

// Checks a 600-line ledger in 12 parts with one real worker, whose CPU time reads as
// `factor` cores: this thread waits for the worker's first result before its own first
// part, so that the measure starts (at that result) and ends (four parts later) for sure.
async function run(factor: number) {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  await appendEntries(path, Array.from({ length: 600 }, (_, i) => ({ detail: `entry ${i}` })));
  const bounds = await splitAtLines(path, (await Deno.stat(path)).size, 12);
  const reqs = bounds.slice(0, -1).map((start, i) => ({
    path,
    start,
    end: bounds[i + 1]!,
    midChain: i > 0,
    withIds: true,
  }));
  const events: string[] = [];
  let measured!: () => void;
  const measuring = new Promise<void>((resolve) => (measured = resolve));
  const url = URL.createObjectURL(new Blob([VERIFY_WORKER_SOURCE], { type: "text/javascript" }));
  try {
    const out = await checkParts(reqs, {
      workers: 1,
      workerUrl: url,
      onProgress: () => {},
      onLive: (change) => events.push(change > 0 ? "start" : "end"),
      cpuTime: () => {
        measured();
        return performance.now() * factor;
      },
      checkHere: async (req, onProgress) => {
        await measuring;
        const r = await checkRange(req, onProgress);
        events.push("here");
        return r;
      },
    });
    const single = await Promise.all(reqs.map((r) => checkRange(r)));
    assertEquals(out.results.map((r) => r.entries), single.map((r) => r.entries));
    assertEquals(out.results.map((r) => r.lastEntry), single.map((r) => r.lastEntry));
    return { ...out, events };
  } finally {
    URL.revokeObjectURL(url);
  }
}

Deno.test("workers that do not run alongside this thread are ended at the measure; their parts are checked here", async () => {
  const out = await run(1);
  assertEquals(out.parallelism !== undefined && Math.round(out.parallelism * 10) / 10, 1);
  // Ended as soon as measured (five parts done of twelve): this thread checked the rest.
  const end = out.events.indexOf("end");
  assert(end > 0, out.events.join(" "));
  const after = out.events.slice(end).filter((e) => e === "here").length;
  assert(after >= 5, out.events.join(" "));
  assert(out.byWorkers >= 1);
});

Deno.test("workers that run alongside this thread are kept to the end", async () => {
  const out = await run(3);
  assertEquals(out.parallelism !== undefined && Math.round(out.parallelism * 10) / 10, 3);
  // Ended only once no part was left to give it: this thread had at most one under way.
  const end = out.events.indexOf("end");
  assert(end > 0, out.events.join(" "));
  const after = out.events.slice(end).filter((e) => e === "here").length;
  assert(after <= 1, out.events.join(" "));
  assert(out.byWorkers >= 1);
});
