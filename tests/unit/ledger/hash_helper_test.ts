import { assert, assertEquals } from "../../support/assert.ts";
import { join } from "node:path";
import { HashHelper, liveHashHelpers } from "../../../lib/ledger/_hash_helper.ts";
import { appendEntries } from "../../../lib/ledger/append.ts";
import { verifyLedger, verifyTesting } from "../../../lib/ledger/verify.ts";
import { sha256Hex } from "../../../lib/util/hash.ts";
import { ROOT, sandboxFlags, tempDir, waitFor } from "../../support/helpers.ts";

const enc = new TextEncoder();

/** Lines 1..n: content `line <i>` with a wrong stated hash on the lines in `wrong`. */
function feed(helper: HashHelper, n: number, wrong: Set<number>, long = new Set<number>()) {
  for (let i = 1; i <= n; i++) {
    const content = enc.encode(`line ${i} ${long.has(i) ? "y".repeat(5000) : ""}`);
    const stated = enc.encode(`[${wrong.has(i) ? "0".repeat(64) : sha256Hex(content)}]`);
    helper.add(i, content, stated, 1, stated.length - 1);
  }
}

async function mismatches(
  opts: { worker: boolean; steal?: boolean; slotBytes?: number; slotLines?: number },
  n: number,
  wrong: Set<number>,
  long?: Set<number>,
) {
  const found: [number, string, string][] = [];
  const helper = new HashHelper(
    (line, stated, computed) => found.push([line, stated, computed]),
    opts,
  );
  try {
    feed(helper, n, wrong, long);
    await helper.drain();
  } finally {
    helper.close();
  }
  return { found: found.sort((a, b) => a[0] - b[0]), batches: helper.batches };
}

Deno.test("the hash helper's worker finds exactly the wrong hashes, at batch seams too", async () => {
  // Batches of three lines: 3 and 4 stand on either side of a seam, 1 and 20 at the ends.
  const wrong = new Set([1, 3, 4, 9, 10, 20]);
  const want = [...wrong].sort((a, b) => a - b).map((i) => [
    i,
    "0".repeat(64),
    sha256Hex(`line ${i} `),
  ]);
  const inWorker = await mismatches({ worker: true, steal: false, slotLines: 3 }, 20, wrong);
  const shared = await mismatches({ worker: true, slotLines: 3 }, 20, wrong);
  const here = await mismatches({ worker: false, slotLines: 3 }, 20, wrong);
  assertEquals(inWorker.found, want);
  assertEquals(shared.found, want);
  assertEquals(here.found, want);
  assertEquals(inWorker.batches, { worker: 7, here: 0 });
  assertEquals(shared.batches.worker + shared.batches.here, 7);
  assertEquals(here.batches, { worker: 0, here: 7 });
  assertEquals(liveHashHelpers(), 0);
});

Deno.test("a line too long for a batch is hashed at once, and batches split by bytes", async () => {
  const wrong = new Set([2, 5, 6]);
  const long = new Set([5, 7]);
  const got = await mismatches({ worker: true, steal: false, slotBytes: 4096 }, 8, wrong, long);
  assertEquals(got.found.map(([line]) => line), [2, 5, 6]);
  assertEquals(got.found[1]![2], sha256Hex(`line 5 ${"y".repeat(5000)}`));
});

Deno.test("the hash helper's worker starts under the coordinator's own permission set", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "audits", "moses"), { recursive: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...sandboxFlags(), join(ROOT, "tests", "support", "hash_helper_probe.ts")],
    cwd: dir.path,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const got = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(got.batches, { worker: 1, here: 0 });
  assertEquals(got.found, [[2, "x".repeat(64), sha256Hex("bad")]]);
});

Deno.test("verify with the hash helper gives the report one thread gives, whatever is wrong", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "ledger.jsonl");
  const bodies = Array.from(
    { length: 3000 },
    (_, i) => ({ detail: `entry ${i} ${"x".repeat(i % 400)}`, n: i % 9 === 0 ? 1.5 : i }),
  );
  await appendEntries(path, bodies);
  const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
  const change = (i: number, from: string, to: string) => {
    assert(lines[i]!.includes(from), lines[i]);
    lines[i] = lines[i]!.replace(from, to);
  };
  change(10, "entry 10", "entry X"); // a wrong hash, scanned
  change(18, "entry 18", "entry X"); // a wrong hash, on the exact path (a float)
  change(40, '"previous_hash": "', '"previous_hash": "0'); // a broken link (and its hash)
  lines[55] = lines[55]!.slice(0, 30); // not JSON
  lines[56] = "";
  change(700, '"hash": "', '"hash": "f'); // a stated hash of the wrong length
  change(701, "entry 701", "entry X");
  change(702, "entry 702", "entry X");
  lines[1500] = `${lines[1500]!.slice(0, -1)}, "pad": "${"p".repeat(300_000)}"}`; // longer than a batch
  lines[2999] = lines[2999]!.replace("entry 2999", "entry X"); // the last line
  const bytes = enc.encode(lines.join("\n") + "\n");
  bytes[enc.encode(lines.slice(0, 90).join("\n")).length + 20] = 0xff; // not UTF-8
  await Deno.writeFile(path, bytes);
  const saved = { ...verifyTesting };
  // Whatever the machine's load: the helper must run for the comparison to mean something.
  verifyTesting.loadAverage = () => undefined;
  try {
    verifyTesting.hashHelperMinBytes = Infinity;
    const one = await verifyLedger(path, { workers: 1 });
    assertEquals(verifyTesting.lastHashBatches, undefined);
    verifyTesting.hashHelperMinBytes = 0;
    const helped = await verifyLedger(path, { workers: 1 });
    // (One core: no second thread to hash on, and nothing to compare.)
    assertEquals(
      verifyTesting.lastHashBatches !== undefined,
      (navigator.hardwareConcurrency || 1) > 1,
    );
    assertEquals(helped, one);
    assertEquals(
      one.problems.filter((p) => p.kind === "hash_mismatch").map((p) => p.line),
      [11, 19, 41, 701, 702, 703, 1501, 3000],
    );
    assert(one.problems.some((p) => p.kind === "not_utf8" && p.line === 91));
    assert(one.problems.some((p) => p.kind === "not_json" && p.line === 56));
  } finally {
    verifyTesting.hashHelperMinBytes = saved.hashHelperMinBytes;
    verifyTesting.loadAverage = saved.loadAverage;
    verifyTesting.lastHashBatches = undefined;
  }
  assertEquals(liveHashHelpers(), 0);
});

Deno.test("a hash helper closed with batches still out hashes them here, none lost", async () => {
  const found: number[] = [];
  const helper = new HashHelper((line) => found.push(line), { steal: false, slotLines: 2 });
  feed(helper, 9, new Set([2, 3, 8]));
  helper.close();
  await helper.drain();
  assertEquals(found.sort((a, b) => a - b), [2, 3, 8]);
  assertEquals(helper.batches.worker + helper.batches.here, 5);
  assertEquals(liveHashHelpers(), 0);
});

Deno.test("verify hashes on a second thread only with half a core to spare, or when it cannot tell", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "ledger.jsonl");
  await appendEntries(path, Array.from({ length: 50 }, (_, i) => ({ detail: `entry ${i}` })));
  const saved = { ...verifyTesting };
  verifyTesting.hashHelperMinBytes = 0;
  const cores = navigator.hardwareConcurrency || 1;
  try {
    const helped = async (load: number | undefined) => {
      verifyTesting.loadAverage = () => load;
      assert((await verifyLedger(path, { workers: 1 })).ok);
      return verifyTesting.lastHashBatches !== undefined;
    };
    assertEquals(await helped(cores + 8), false);
    assertEquals(await helped(cores - 0.4), false);
    assertEquals(await helped(cores - 0.6), cores > 1);
    assertEquals(await helped(undefined), cores > 1);
  } finally {
    verifyTesting.hashHelperMinBytes = saved.hashHelperMinBytes;
    verifyTesting.loadAverage = saved.loadAverage;
    verifyTesting.lastHashBatches = undefined;
  }
});

Deno.test("a worker that does not run beside this thread is ended after its first batches, none lost", async () => {
  const run = async (minParallelism: number) => {
    const found: number[] = [];
    const helper = new HashHelper((line) => found.push(line), {
      steal: false,
      slotLines: 2,
      minParallelism,
    });
    try {
      const wrong = new Set([3, 40, 77, 78]);
      for (let i = 1; i <= 80; i++) {
        const content = enc.encode(`line ${i}`);
        const stated = enc.encode(wrong.has(i) ? "0".repeat(64) : sha256Hex(content));
        helper.add(i, content, stated, 0, stated.length);
        // Each batch back before the next is sent, while the worker runs.
        const sent = Math.floor((i - 1) / 2);
        await waitFor(
          "the worker's batches back, or the worker ended",
          () => helper.batches.worker >= sent || (helper.parallelism ?? Infinity) < minParallelism,
        );
      }
      await helper.drain();
    } finally {
      helper.close();
    }
    return { found: found.sort((a, b) => a - b), helper };
  };
  // No machine runs two threads at once 1,000 times over: the worker is ended.
  const ended = await run(1000);
  assertEquals(ended.found, [3, 40, 77, 78]);
  assert(ended.helper.parallelism !== undefined);
  assertEquals(ended.helper.batches.worker, 17);
  assertEquals(ended.helper.batches.worker + ended.helper.batches.here, 40);
  // Nor does any run below none: it is kept.
  const kept = await run(0);
  assertEquals(kept.found, [3, 40, 77, 78]);
  assert(kept.helper.batches.worker > 17, JSON.stringify(kept.helper.batches));
  assertEquals(liveHashHelpers(), 0);
});
