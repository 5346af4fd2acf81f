import { assertEquals } from "../../../support/assert.ts";
import { FakeClock, flushMicrotasks } from "../../../support/fake_clock.ts";
import { Logger } from "../../../../lib/service/log.ts";
import {
  type FileWatcher,
  GOVERNANCE_DEBOUNCE_MS,
  GOVERNANCE_MISSING_RETRY_MS,
  GovernanceSource,
} from "../../../../lib/service/daemon/governance_source.ts";
import { tempDir, waitFor } from "../../../support/helpers.ts";
import type { GovernanceRead } from "../../../../lib/service/governance.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../../../../lib/rules/governance.ts";

function gov(mode: string, broadcast = false): Governance {
  return { fields: { ...DEFAULT_GOVERNANCE.fields, mode }, broadcast };
}

/** Reads that finish only when the test says, in any order. */
class Reads {
  readonly pending: { resolve: (r: GovernanceRead) => void }[] = [];
  started = 0;
  inFlight = 0;
  maxInFlight = 0;
  read = (): Promise<GovernanceRead> => {
    this.started++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) =>
      this.pending.push({
        resolve: (r) => {
          this.inFlight--;
          resolve(r);
        },
      })
    );
  };
}

Deno.test("refreshes never overlap, and the newest read is the one kept", async () => {
  const reads = new Reads();
  const src = new GovernanceSource({
    path: "state.json",
    logger: new Logger("json", () => {}),
    read: reads.read,
  });
  const first = src.refresh();
  const second = src.refresh();
  const third = src.refresh();
  assertEquals(reads.started, 1);
  // The first read (older) finishes: a second read starts, and only then.
  reads.pending[0]!.resolve({ governance: gov("old"), found: true });
  await flushMicrotasks();
  assertEquals(reads.started, 2);
  reads.pending[1]!.resolve({ governance: gov("new"), found: true });
  await Promise.all([first, second, third]);
  assertEquals(reads.maxInFlight, 1);
  assertEquals(src.governance.fields.mode, "new");
});

Deno.test("a bad state.json keeps the last good state and says why once", async () => {
  const lines: string[] = [];
  let next: GovernanceRead = { governance: gov("good"), found: true };
  const src = new GovernanceSource({
    path: "state.json",
    logger: new Logger("json", (l) => lines.push(l)),
    read: (_p, fallback) => Promise.resolve({ ...next, governance: next.governance ?? fallback }),
  });
  await src.refresh();
  next = { governance: src.governance, found: true, error: "Cannot read state.json: line 1" };
  await src.refresh();
  await src.refresh();
  assertEquals(src.governance.fields.mode, "good");
  assertEquals(src.error, "Cannot read state.json: line 1");
  assertEquals(lines.length, 1);
});

/** Watchers the test fires by hand; `missing` makes watching throw NotFound. */
class Watchers {
  readonly open: FakeWatcher[] = [];
  made = 0;
  missing = false;
  watch = (): FileWatcher => {
    if (this.missing) throw new Deno.errors.NotFound("No such file or directory");
    this.made++;
    const w = new FakeWatcher(() => this.open.splice(this.open.indexOf(w), 1));
    this.open.push(w);
    return w;
  };
}

class FakeWatcher implements FileWatcher {
  #wake: (() => void) | undefined;
  #events = 0;
  #closed = false;
  constructor(readonly onClose: () => void) {}
  fire(): void {
    this.#events++;
    this.#wake?.();
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    for (;;) {
      while (this.#events > 0) {
        this.#events--;
        yield { kind: "modify" };
      }
      if (this.#closed) return;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}

function watched(watchers: Watchers) {
  const clock = new FakeClock();
  let reads = 0;
  let changes = 0;
  const src = new GovernanceSource({
    path: "state.json",
    logger: new Logger("json", () => {}),
    clock,
    onChange: () => changes++,
    read: () => {
      reads++;
      return Promise.resolve({ governance: gov(`m${reads}`), found: true });
    },
    watch: watchers.watch,
  });
  return { clock, src, reads: () => reads, changes: () => changes };
}

Deno.test("state.json is watched, not polled: no read and no timer while it does not change", async () => {
  const watchers = new Watchers();
  const { clock, src, reads } = watched(watchers);
  src.start();
  for (let i = 0; i < 3_600; i++) await clock.tick(1_000);
  assertEquals(reads(), 0);
  assertEquals(clock.pending, 0);
  assertEquals(watchers.open.length, 1);
  src.stop();
  assertEquals(watchers.open.length, 0);
});

Deno.test("a burst of changes is one read after the debounce, on a watch made again", async () => {
  const watchers = new Watchers();
  const { clock, src, reads, changes } = watched(watchers);
  src.start();
  for (let i = 0; i < 5; i++) watchers.open[0]!.fire();
  await flushMicrotasks();
  await clock.tick(GOVERNANCE_DEBOUNCE_MS - 1);
  assertEquals(reads(), 0);
  await clock.tick(1);
  await flushMicrotasks();
  assertEquals(reads(), 1);
  assertEquals(src.governance.fields.mode, "m1");
  assertEquals(changes(), 1);
  // The file may have been replaced (rename): the watch is on the path again, one at a time.
  assertEquals(watchers.made, 2);
  assertEquals(watchers.open.length, 1);
  assertEquals(clock.pending, 0);
  // The new watch works.
  watchers.open[0]!.fire();
  await flushMicrotasks();
  await clock.tick(GOVERNANCE_DEBOUNCE_MS);
  await flushMicrotasks();
  assertEquals(src.governance.fields.mode, "m2");
  src.stop();
});

Deno.test("a missing state.json is looked for every GOVERNANCE_MISSING_RETRY_MS, then watched", async () => {
  const watchers = new Watchers();
  watchers.missing = true;
  const { clock, src, reads } = watched(watchers);
  src.start();
  assertEquals(clock.pending, 1);
  await clock.tick(GOVERNANCE_MISSING_RETRY_MS);
  await flushMicrotasks();
  assertEquals(reads(), 1);
  watchers.missing = false;
  await clock.tick(GOVERNANCE_MISSING_RETRY_MS);
  await flushMicrotasks();
  assertEquals(reads(), 2);
  assertEquals(watchers.open.length, 1);
  assertEquals(clock.pending, 0);
  src.stop();
});

Deno.test("a real state.json replaced the way editors do (write a temporary file, rename) is seen each time", async () => {
  await using dir = await tempDir();
  const path = dir.join("state.json");
  await Deno.writeTextFile(path, '{"mode": "one"}');
  let changes = 0;
  const src = new GovernanceSource({
    path,
    logger: new Logger("json", () => {}),
    onChange: () => changes++,
  });
  await src.refresh();
  src.start();
  try {
    for (const mode of ["two", "three", "four"]) {
      await Deno.writeTextFile(`${path}.tmp`, JSON.stringify({ mode }));
      await Deno.rename(`${path}.tmp`, path);
      await waitFor(`mode ${mode}`, () => src.governance.fields.mode === mode);
    }
    // Written in place too.
    await Deno.writeTextFile(path, '{"mode": "five"}');
    await waitFor("mode five", () => src.governance.fields.mode === "five");
    assertEquals(changes >= 4, true);
  } finally {
    src.stop();
  }
});
