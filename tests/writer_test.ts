/**
 * The ledger writer's control flow: observer callbacks that throw, retries with backoff,
 * flush deadlines, stopping while another process holds the lock, and the fsync mode.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { join } from "node:path";
import { appendEntries } from "../lib/ledger/append.ts";
import { LedgerWriter, type WriterOptions } from "../lib/ledger/writer.ts";
import { type Violation } from "../lib/rules/violation.ts";
import { DEFAULT_GOVERNANCE } from "../lib/service/governance.ts";
import { readLedger, tempStateDir } from "./support/helpers.ts";

function violation(conversation: string): Violation {
  return {
    id: `id-${conversation}`,
    at: Date.UTC(2026, 10, 21, 12, 2, 18, 246),
    protocol: "legacy",
    conversation,
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: ["primary", "secondary", "observer"],
  };
}

function writer(ledgerPath: string, opts: Partial<WriterOptions> = {}): LedgerWriter {
  return new LedgerWriter({
    ledgerPath,
    maxPending: 100,
    governance: () => DEFAULT_GOVERNANCE.fields,
    ...opts,
  });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await tempStateDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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

/** A callback that always throws, as a log sink with a broken stderr does. */
function boom(): never {
  throw new Error("the log sink is broken");
}

Deno.test("a throwing onTornTail after a durable append does not write the group again", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "ledger.jsonl");
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
});

Deno.test("a throwing onWritten does not mark the writer failing", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "ledger.jsonl");
    const reported: string[] = [];
    const w = writer(path, { onWritten: boom, onCallbackError: (name) => reported.push(name) });
    w.enqueue(violation("a"));
    assert(await w.flush(10_000), "flush did not finish");
    assertEquals(await actions(path), ["sequence_violation"]);
    assertEquals(w.failing, false);
    assertEquals(w.lastError, undefined);
    assertEquals(reported, ["onWritten"]);
  });
});

Deno.test("a throwing onRecovered leaves the writer recovered, and onWritten is still called", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "missing", "ledger.jsonl");
    const failed = signal();
    const written: string[] = [];
    const reported: string[] = [];
    const w = writer(path, {
      onError: failed.resolve,
      onRecovered: boom,
      onWritten: (vs) => written.push(...vs.map((v) => v.id)),
      onCallbackError: (name) => reported.push(name),
    });
    w.enqueue(violation("a"));
    await failed.promise;
    assertEquals(w.failing, true);
    await Deno.mkdir(join(dir, "missing"));
    assert(await w.flush(10_000), "flush did not finish");
    assertEquals(await actions(path), ["sequence_violation"]);
    assertEquals(w.failing, false);
    assertEquals(written, ["id-a"]);
    assertEquals(reported, ["onRecovered"]);
    await w.stop();
  });
});

Deno.test("a throwing onError still leaves the group queued and retried", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "missing", "ledger.jsonl");
    let errors = 0;
    const failed = signal();
    const reported: string[] = [];
    const w = writer(path, {
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
    await Deno.mkdir(join(dir, "missing"));
    assert(await w.flush(10_000), "flush did not finish");
    assertEquals(await actions(path), ["sequence_violation"]);
    assertEquals(w.failing, false);
    assert(errors >= 1);
    assertEquals(reported[0], "onError");
    await w.stop();
  });
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
  await withDir(async (dir) => {
    const path = join(dir, "ledger.jsonl");
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
});
