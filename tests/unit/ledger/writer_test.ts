/**
 * The ledger writer's control flow: observer callbacks that throw, retries with backoff,
 * flush deadlines, stopping while another process holds the lock, and the fsync mode.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { appendEntries } from "../../../lib/ledger/append.ts";
import { LedgerWriter, type WriterOptions } from "../../../lib/ledger/writer.ts";
import type { SequenceFinding } from "../../../lib/rules/sequence_rule.ts";
import { violationFinding } from "../../support/findings.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";
import { readLedger, tempDir, waitFor } from "../../support/helpers.ts";
import { FakeClock } from "../../support/fake_clock.ts";

function violation(conversation: string): SequenceFinding {
  return violationFinding({
    id: `id-${conversation}`,
    at: Date.UTC(2026, 10, 21, 12, 2, 18, 246),
    protocol: "legacy",
    conversation,
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: ["primary", "secondary", "observer"],
  });
}

function writer(ledgerPath: string, opts: Partial<WriterOptions> = {}): LedgerWriter {
  return new LedgerWriter({
    ledgerPath,
    maxPending: 100,
    governance: () => DEFAULT_GOVERNANCE.fields,
    ...opts,
  });
}

/** A promise with its resolver, for waiting on a callback. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The `action` of each line (the detail where there is none). */
async function actions(path: string): Promise<unknown[]> {
  return (await readLedger(path)).map((l) => l.action ?? l.detail);
}

/**
 * Moves `clock` on by `stepMs` at a time, letting real I/O finish in between, until `done`;
 * fails past `limitMs` of fake time.
 */
async function tickUntil(clock: FakeClock, done: () => boolean, stepMs: number, limitMs: number) {
  const end = clock.now() + limitMs;
  while (!done()) {
    if (clock.now() >= end) throw new Error(`Not done after ${limitMs} ms of fake time`);
    await clock.tick(stepMs);
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** A callback that always throws, as a log sink with a broken stderr does. */
function boom(): never {
  throw new Error("the log sink is broken");
}

Deno.test("a throwing onTornTail after a durable append does not write the group again", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  await appendEntries(path, [{ detail: "first" }]);
  await Deno.writeTextFile(path, '{"timestamp": "2026', { append: true });
  const reported: string[] = [];
  const w = writer(path, {
    onTornTail: boom,
    onCallbackError: (name, err) => reported.push(`${name}: ${(err as Error).message}`),
  });
  w.enqueue(violation("a"));
  assert(await w.flush(10_000), "flush did not finish");
  assertEquals(await actions(path), ["first", "ledger_recovered", "sequence_violation"]);
  assertEquals(w.failing, false);
  assertEquals(w.written, 1);
  assertEquals(reported, ["onTornTail: the log sink is broken"]);
});

Deno.test("a throwing onWritten does not mark the writer failing", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const reported: string[] = [];
  const w = writer(path, { onWritten: boom, onCallbackError: (name) => reported.push(name) });
  w.enqueue(violation("a"));
  assert(await w.flush(10_000), "flush did not finish");
  assertEquals(await actions(path), ["sequence_violation"]);
  assertEquals(w.failing, false);
  assertEquals(w.lastError, undefined);
  assertEquals(reported, ["onWritten"]);
});

Deno.test("a throwing onRecovered leaves the writer recovered, and onWritten is still called", async () => {
  await using dir = await tempDir();
  const path = dir.join("missing", "ledger.jsonl");
  const failed = signal();
  const written: string[] = [];
  const reported: string[] = [];
  const w = writer(path, {
    clock: new FakeClock(),
    onError: failed.resolve,
    onRecovered: boom,
    onWritten: (vs) => written.push(...vs.map((v) => v.id)),
    onCallbackError: (name) => reported.push(name),
  });
  w.enqueue(violation("a"));
  await failed.promise;
  assertEquals(w.failing, true);
  await Deno.mkdir(dir.join("missing"));
  assert(await w.flush(10_000), "flush did not finish");
  assertEquals(await actions(path), ["sequence_violation"]);
  assertEquals(w.failing, false);
  assertEquals(written, ["id-a"]);
  assertEquals(reported, ["onRecovered"]);
  await w.stop();
});

Deno.test("a throwing onError still leaves the group queued and retried", async () => {
  await using dir = await tempDir();
  const path = dir.join("missing", "ledger.jsonl");
  let errors = 0;
  const failed = signal();
  const reported: string[] = [];
  const w = writer(path, {
    clock: new FakeClock(),
    onError: () => {
      errors++;
      failed.resolve();
      boom();
    },
    onCallbackError: (name) => reported.push(name),
  });
  w.enqueue(violation("a"));
  await failed.promise;
  assertEquals(w.pending, 1);
  await Deno.mkdir(dir.join("missing"));
  assert(await w.flush(10_000), "flush did not finish");
  assertEquals(await actions(path), ["sequence_violation"]);
  assertEquals(w.failing, false);
  assert(errors >= 1);
  assertEquals(reported[0], "onError");
  await w.stop();
});

Deno.test("a throwing onDropped does not make enqueue throw", () => {
  const w = writer("/nonexistent/ledger.jsonl", {
    maxPending: 0,
    onDropped: boom,
    onCallbackError: () => {},
  });
  assertEquals(w.enqueue(violation("a")), false);
  assertEquals(w.dropped, 1);
});

Deno.test("without onCallbackError, or when it throws too, a callback's error goes to console.error", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.map(String).join(" "));
  try {
    const plain = writer(path, { onWritten: boom });
    plain.enqueue(violation("a"));
    assert(await plain.flush(10_000), "flush did not finish");
    const twice = writer(path, { onWritten: boom, onCallbackError: boom });
    twice.enqueue(violation("b"));
    assert(await twice.flush(10_000), "flush did not finish");
    assertEquals(plain.failing || twice.failing, false);
  } finally {
    console.error = original;
  }
  assertEquals(logged.length, 2, logged.join("\n"));
  for (const line of logged) assertStringIncludes(line, "onWritten");
  assertEquals(await actions(path), ["sequence_violation", "sequence_violation"]);
});

Deno.test("while the ledger cannot be written the writer retries with backoff, then writes once it can", async () => {
  await using dir = await tempDir();
  const path = dir.join("missing", "ledger.jsonl");
  const clock = new FakeClock();
  const errorsAt: number[] = [];
  let failed = signal();
  const written = signal();
  const w = writer(path, {
    clock,
    random: () => 0.5,
    retry: { baseMs: 1_000, capMs: 3_000 },
    onError: () => {
      errorsAt.push(clock.now());
      failed.resolve();
    },
    onWritten: written.resolve,
  });
  const start = clock.now();
  w.enqueue(violation("a"));
  await failed.promise;
  assertEquals(w.failing, true);
  assertStringIncludes(w.lastError!, path);
  // Half (the jitter) of 1 s, 2 s, then the 3 s cap.
  for (const delay of [500, 1_000, 1_500, 1_500]) {
    assertEquals(clock.nextDue, clock.now() + delay);
    failed = signal();
    await clock.tick(delay);
    await failed.promise;
  }
  assertEquals(errorsAt.map((t) => t - start), [0, 500, 1_500, 3_000, 4_500]);
  assertEquals(w.pending, 1);
  await Deno.mkdir(dir.join("missing"));
  assertEquals(clock.nextDue, clock.now() + 1_500);
  await clock.tick(1_500);
  await written.promise;
  assertEquals(await actions(path), ["sequence_violation"]);
  assertEquals(w.failing, false);
  assertEquals(w.lastWriteAt, start + 6_000);
  assertEquals(clock.pending, 0);
});

Deno.test("flush retries every 100 ms until its deadline, and retries at once instead of waiting out the backoff", async () => {
  await using dir = await tempDir();
  const path = dir.join("missing", "ledger.jsonl");
  const clock = new FakeClock();
  let errors = 0;
  const failed = signal();
  const w = writer(path, {
    clock,
    random: () => 0.5,
    retry: { baseMs: 60_000, capMs: 60_000 },
    onError: () => {
      errors++;
      failed.resolve();
    },
  });
  w.enqueue(violation("a"));
  await failed.promise;
  const start = clock.now();
  let result: boolean | undefined;
  const flushed = w.flush(1_000).then((r) => (result = r));
  await tickUntil(
    clock,
    () => {
      // It may return only once its deadline has come.
      if (result !== undefined) return true;
      assert(clock.now() < start + 1_000, `flush still running at ${clock.now() - start} ms`);
      return false;
    },
    100,
    2_000,
  );
  await flushed;
  assertEquals(result, false);
  assertEquals(w.pending, 1);
  // One try at once, then one per 100 ms: ten in all, none waiting for the 30 s backoff.
  assertEquals(errors, 1 + 10);

  await Deno.mkdir(dir.join("missing"));
  const before = clock.now();
  assert(await w.flush(1_000), "flush did not write");
  assertEquals(clock.now(), before);
  assertEquals(await actions(path), ["sequence_violation"]);
  assertEquals(clock.pending, 0);
});

Deno.test("an append waiting for another holder's lock counts as busy, and writes once it is released", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const holder = await Deno.open(path, { read: true, write: true, create: true });
  await holder.lock(true);
  const clock = new FakeClock();
  const written = signal();
  const w = writer(path, { clock, onWritten: written.resolve });
  const start = clock.now();
  w.enqueue(violation("a"));
  await clock.tick(7_000);
  assertEquals(w.busyFor(), 7_000);
  assertEquals(w.busyFor(start + 2_000), 2_000);
  await holder.unlock();
  holder.close();
  await written.promise;
  assertEquals(await actions(path), ["sequence_violation"]);
  assertEquals(w.busyFor(), 0);
  assertEquals(w.lastWriteAt, start + 7_000);
});

Deno.test("stop abandons an append still waiting for the lock: it writes nothing and the violation stays queued", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const holder = await Deno.open(path, { read: true, write: true, create: true });
  await holder.lock(true);
  const clock = new FakeClock();
  let errors = 0;
  const w = writer(path, { clock, onError: () => errors++ });
  w.enqueue(violation("a"));
  await clock.tick(3_000);
  assertEquals(w.busyFor(), 3_000);
  // Returns while the lock is still held: it does not wait for the append.
  await w.stop();
  assertEquals(w.busyFor(), 3_000);
  await holder.unlock();
  holder.close();
  await waitFor("the abandoned append to end", () => w.busyFor() === 0);
  assertEquals(await Deno.readTextFile(path), "");
  assertEquals(w.pending, 1);
  assertEquals(w.written, 0);
  assertEquals(w.failing, false);
  assertEquals(errors, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("after an fsync over 1 s the writer fsyncs in the background, and inline again after one under 20 ms", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  // Each append reads the monotonic clock twice, around its fsync: the second read is
  // the first plus the next scripted duration.
  const durations = [999, 1_001, 500, 20, 19, 30];
  let t = 0;
  let reads = 0;
  const monotonicNow = () => (reads++ % 2 === 0 ? t : (t += durations.shift()!));
  const clock = new FakeClock();
  const w = writer(path, { clock, monotonicNow });
  const modes: boolean[] = [];
  for (const name of ["a", "b", "c", "d", "e", "f"]) {
    w.enqueue(violation(name));
    assert(await w.flush(10_000), "flush did not write");
    modes.push(w.fsyncInline);
  }
  assertEquals(durations, []);
  assertEquals(modes, [true, false, false, false, true, true]);
  assertEquals((await readLedger(path)).length, 6);
});
