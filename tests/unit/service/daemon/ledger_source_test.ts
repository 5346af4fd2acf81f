import { assertEquals } from "../../../support/assert.ts";
import { join } from "node:path";
import { tempDir, waitFor } from "../../../support/helpers.ts";
import {
  type DirWatcher,
  LEDGER_READ_BACK_BYTES,
  LedgerSource,
} from "../../../../lib/service/daemon/ledger_source.ts";
import { ledgerTime } from "../../../../lib/ledger/entry_event.ts";
import { Logger } from "../../../../lib/service/log.ts";
import type { LedgerEntryEvent } from "../../../../lib/rules/event.ts";

const line = (o: Record<string, unknown>) => JSON.stringify(o) + "\n";
const entry = (agent: string, ts: string, extra: Record<string, unknown> = {}) =>
  line({ timestamp: ts, agent, component: "audit_stub", action: "answer", hash: "h", ...extra });

/** A watcher the test fires by hand. */
class HandWatcher implements DirWatcher {
  #push: ((v: IteratorResult<{ paths: string[] }>) => void) | undefined;
  fire(path: string) {
    this.#push?.({ value: { paths: [path] }, done: false });
  }
  close() {
    this.#push?.({ value: undefined, done: true });
  }
  [Symbol.asyncIterator]() {
    return {
      next: () => new Promise<IteratorResult<{ paths: string[] }>>((r) => this.#push = r),
    };
  }
}

Deno.test("ledger times as Python writes them parse to ms; anything else is NaN", () => {
  assertEquals(
    ledgerTime("2026-12-01T22:31:05.123456+00:00"),
    Date.UTC(2026, 11, 1, 22, 31, 5, 123),
  );
  assertEquals(Number.isNaN(ledgerTime("yesterday")), true);
  assertEquals(Number.isNaN(ledgerTime(5)), true);
});

Deno.test("other writers' entries become events; the coordinator's own lines and bad lines do not", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "audit_ledger.jsonl");
  await Deno.writeTextFile(
    path,
    entry("alice", "2026-12-01T10:00:00.000001+00:00") +
      line({
        timestamp: "2026-12-01T10:00:01+00:00",
        agent: "coordinator",
        component: "moses-coordinator",
      }) +
      "not json\n" + entry("bob", "not a time"),
  );
  const events: LedgerEntryEvent[] = [];
  const watcher = new HandWatcher();
  const src = new LedgerSource({
    path,
    logger: new Logger("json", () => {}),
    onEntry: (e) => events.push(e),
    watch: () => watcher,
  });
  await src.start();
  assertEquals(events.map((e) => [e.agent, e.source]), [["alice", "catch-up"]]);
  assertEquals(src.counters, { entries: 1, own: 1, invalid: 2, reads: 1 });
  // An append, half a line first: only whole lines are read, each once.
  const f = await Deno.open(path, { append: true });
  const next = entry("carol", "2026-12-01T10:00:02+00:00");
  await f.write(new TextEncoder().encode(next.slice(0, 20)));
  await src.look();
  assertEquals(events.length, 1);
  await f.write(new TextEncoder().encode(next.slice(20)));
  f.close();
  await src.look();
  await src.look();
  assertEquals(events.map((e) => [e.agent, e.source]), [["alice", "catch-up"], ["carol", "live"]]);
  src.stop();
});

Deno.test("at start only the ledger's last MiB is read back, from a whole line", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "audit_ledger.jsonl");
  const old = entry("old", "2026-12-01T09:00:00+00:00", { detail: "é".repeat(600) });
  const lines = Math.ceil(LEDGER_READ_BACK_BYTES / old.length) + 50;
  await Deno.writeTextFile(path, old.repeat(lines) + entry("new", "2026-12-01T10:00:00+00:00"));
  const events: LedgerEntryEvent[] = [];
  const src = new LedgerSource({
    path,
    logger: new Logger("json", () => {}),
    onEntry: (e) => events.push(e),
    watch: () => new HandWatcher(),
  });
  await src.start();
  assertEquals(events.at(-1)!.agent, "new");
  // Fewer than all the old lines, and no piece of a line taken for an invalid one.
  assertEquals(events.length < lines, true);
  assertEquals(src.counters.invalid, 0);
  src.stop();
});

Deno.test("a read-back that starts exactly at a line's start keeps that line", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "audit_ledger.jsonl");
  // Lines of exactly 256 bytes: the last MiB is exactly 4,096 whole lines.
  const base = entry("a", "2026-12-01T09:00:00+00:00", { detail: "" });
  const pad = 256 - base.length;
  const fixed = entry("a", "2026-12-01T09:00:00+00:00", { detail: "x".repeat(pad) });
  assertEquals(new TextEncoder().encode(fixed).length, 256);
  await Deno.writeTextFile(path, fixed.repeat(5_000));
  let n = 0;
  const src = new LedgerSource({
    path,
    logger: new Logger("json", () => {}),
    onEntry: () => n++,
    watch: () => new HandWatcher(),
  });
  await src.start();
  assertEquals(n, LEDGER_READ_BACK_BYTES / 256);
  src.stop();
});

Deno.test("an event for the ledger from the directory's watch makes the source read the new line", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "audit_ledger.jsonl");
  await Deno.writeTextFile(path, "");
  const events: LedgerEntryEvent[] = [];
  const watcher = new HandWatcher();
  const src = new LedgerSource({
    path,
    logger: new Logger("json", () => {}),
    onEntry: (e) => events.push(e),
    watch: () => watcher,
  });
  await src.start();
  await Deno.writeTextFile(path, entry("eve", "2026-12-01T10:00:01+00:00"), { append: true });
  watcher.fire(path);
  await waitFor("the watcher's look", () => events.length === 1);
  assertEquals(events.map((e) => e.agent), ["eve"]);
  src.stop();
});
