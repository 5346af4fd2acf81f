import { assert, assertEquals } from "../../support/assert.ts";
import { appendEntries } from "../../../lib/ledger/append.ts";
import { checkRange, type RangeRequest, splitAtLines } from "../../../lib/ledger/verify.ts";
import { checkParts } from "../../../lib/ledger/_verify_pool.ts";
import { VERIFY_WORKER_SOURCE } from "../../../lib/ledger/_verify_worker_source.ts";
import { type TempDir, tempDir } from "../../support/helpers.ts";

// A 600-line ledger in `dir`, cut into 12 parts.
async function partsIn(dir: TempDir): Promise<RangeRequest[]> {
  const path = dir.join("ledger.jsonl");
  await appendEntries(path, Array.from({ length: 600 }, (_, i) => ({ detail: `entry ${i}` })));
  const bounds = await splitAtLines(path, (await Deno.stat(path)).size, 12);
  return bounds.slice(0, -1).map((start, i) => ({
    path,
    start,
    end: bounds[i + 1]!,
    midChain: i > 0,
    withIds: true,
  }));
}

// Checks the 12 parts with one real worker, whose CPU time reads as `factor` cores: this
// thread waits for the worker's first result before its own first part, so that the
// measure starts (at that result) and ends (four parts later) for sure.
async function run(factor: number) {
  await using dir = await tempDir();
  const reqs = await partsIn(dir);
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

// Parts this thread checked after the worker was ended (which must have happened).
function checkedHereAfterEnd(events: string[]): number {
  const end = events.indexOf("end");
  assert(end > 0, events.join(" "));
  return events.slice(end).filter((e) => e === "here").length;
}

Deno.test("workers that do not run alongside this thread are ended at the measure; their parts are checked here", async () => {
  const out = await run(1);
  assertEquals(out.parallelism !== undefined && Math.round(out.parallelism * 10) / 10, 1);
  // Ended as soon as measured (five parts done of twelve): this thread checked the rest.
  const after = checkedHereAfterEnd(out.events);
  assert(after >= 5, out.events.join(" "));
  assert(out.byWorkers >= 1);
});

Deno.test("workers that run alongside this thread are kept to the end", async () => {
  const out = await run(3);
  assertEquals(out.parallelism !== undefined && Math.round(out.parallelism * 10) / 10, 3);
  // Ended only once no part was left to give it: this thread had at most one under way.
  const after = checkedHereAfterEnd(out.events);
  assert(after <= 1, out.events.join(" "));
  assert(out.byWorkers >= 1);
});

Deno.test("a worker's read error keeps its class and ends the check; no worker outlives it", async () => {
  await using dir = await tempDir();
  const reqs = await partsIn(dir);
  // Stand-in workers: the one given the first part never answers, the other meets a read
  // error. This thread starts its first part only once that worker is ended.
  const stub = new URL("../../support/verify_worker_stub.ts?fail=read", import.meta.url).href;
  let live = 0;
  let ended!: () => void;
  const oneEnded = new Promise<void>((resolve) => (ended = resolve));
  const err = await checkParts(reqs, {
    workers: 2,
    workerUrl: stub,
    onProgress: () => {},
    onLive: (change) => {
      live += change;
      if (change < 0) ended();
    },
    checkHere: async (req, onProgress) => {
      await oneEnded;
      return await checkRange(req, onProgress);
    },
  }).then(() => undefined, (e: unknown) => e);
  assert(err instanceof Deno.errors.NotCapable, `expected NotCapable, got ${String(err)}`);
  assertEquals(live, 0);
});

Deno.test("once the parts from the start hold the problems a report keeps, later parts' are dropped as they land", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  // 30,000 lines with a wrong hash each (their links hold): 30,000 problems, in 30 parts.
  const line = (i: number) =>
    `{"detail": "entry ${i}", "previous_hash": "${"0".repeat(64)}", "hash": "${"0".repeat(64)}"}`;
  await Deno.writeTextFile(path, Array.from({ length: 30_000 }, (_, i) => line(i) + "\n").join(""));
  const bounds = await splitAtLines(path, (await Deno.stat(path)).size, 30);
  const reqs = bounds.slice(0, -1).map((start, i) => ({
    path,
    start,
    end: bounds[i + 1]!,
    midChain: i > 0,
    withIds: true,
  }));
  const { results } = await checkParts(reqs, { workers: 0, workerUrl: "", onProgress: () => {} });
  const kept = results.map((r) => r.problems.length);
  // Each part holds about 1,000 problems: the first ten or eleven hold the 10,000 kept.
  assert(kept.reduce((a, b) => a + b, 0) < 10_000 + 1_100, kept.join(" "));
  assertEquals(kept.slice(-10), Array(10).fill(0));
  // Counted all the same.
  assert(
    results.every((r) => r.problemCount > 900),
    results.map((r) => r.problemCount).join(" "),
  );
});

Deno.test("a worker that crashes is ended at once and its part checked here", async () => {
  await using dir = await tempDir();
  const reqs = await partsIn(dir);
  // One stand-in worker: given the first part, it never answers; the other throws on its part.
  const stub = new URL("../../support/verify_worker_stub.ts?fail=crash", import.meta.url).href;
  const events: string[] = [];
  let ended!: () => void;
  const oneEnded = new Promise<void>((resolve) => (ended = resolve));
  const out = await checkParts(reqs, {
    workers: 2,
    workerUrl: stub,
    onProgress: () => {},
    onLive: (change) => {
      events.push(change > 0 ? "start" : "end");
      if (change < 0) ended();
    },
    checkHere: async (req, onProgress) => {
      await oneEnded;
      const r = await checkRange(req, onProgress);
      events.push(`here ${reqs.indexOf(req)}`);
      return r;
    },
  });
  // The crashed worker was ended before this thread checked anything; all 12 parts were
  // checked here (the silent worker's too), each once.
  assertEquals(events.slice(0, 3), ["start", "start", "end"]);
  const here = events.filter((e) => e.startsWith("here")).map((e) => Number(e.slice(5)));
  assertEquals(here.sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  assertEquals(out.byWorkers, 0);
  const single = await Promise.all(reqs.map((r) => checkRange(r)));
  assertEquals(out.results.map((r) => r.lastEntry), single.map((r) => r.lastEntry));
});
