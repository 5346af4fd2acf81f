import { assertEquals } from "../../../support/assert.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { FindingsOutput } from "../../../../lib/service/daemon/findings_output.ts";
import type { Finding } from "../../../../lib/rules/finding.ts";
import type { TurnEvent } from "../../../../lib/rules/event.ts";
import { violationFinding } from "../../../support/findings.ts";
import { flushMicrotasks } from "../../../support/fake_clock.ts";

const f = (id: string): Finding =>
  violationFinding({
    id,
    at: 0,
    protocol: "openclaw",
    conversation: `c-${id}`,
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: ["primary", "secondary", "observer"],
  });
const event = (source: TurnEvent["source"]): TurnEvent => ({
  kind: "turn",
  protocol: "openclaw",
  conversation: "c",
  agent: "observer",
  at: 0,
  source,
});

Deno.test("one throw on the way out loses only that finding, never the ones after it", async () => {
  const queued: string[] = [];
  let thrown = false;
  const logger = new Logger("json", (line) => {
    if (!thrown && line.includes('"c-b"')) {
      thrown = true;
      throw new Error("stderr is closed");
    }
  });
  const out = new FindingsOutput({
    writer: { enqueue: (x) => queued.push(x.id) > 0 },
    logger,
    readTailIds: () => Promise.resolve(new Set()),
  });
  for (const id of ["a", "b", "c", "d"]) out.accept(f(id), event("live"));
  await out.settled();
  assertEquals(queued, ["a", "c", "d"]);
  assertEquals(out.failures, 1);
});

Deno.test("a catch-up reads the ledger's end once, and skips exactly the ids already there", async () => {
  const queued: string[] = [];
  let reads = 0;
  const out = new FindingsOutput({
    writer: { enqueue: (x) => queued.push(x.id) > 0 },
    logger: new Logger("json", () => {}),
    readTailIds: () => {
      reads++;
      // "b-longer" is there; "b" (a prefix of it) is not.
      return Promise.resolve(new Set(["a", "b-longer"]));
    },
  });
  for (const id of ["a", "b", "c"]) out.accept(f(id), event("catch-up"));
  out.accept(f("live-1"), event("live"));
  await out.settled();
  assertEquals(queued, ["b", "c", "live-1"]);
  assertEquals(reads, 1);
  // The next catch-up reads afresh.
  out.catchUpDone();
  out.accept(f("a"), event("catch-up"));
  await out.settled();
  assertEquals(reads, 2);
  assertEquals(out.tailReads, 2);
});

Deno.test("onQueued hears each finding new to the ledger, not one found again after a crash nor one dropped", async () => {
  const heard: string[] = [];
  const out = new FindingsOutput({
    // The writer's queue is full for "dropped".
    writer: { enqueue: (x) => x.id !== "dropped" },
    logger: new Logger("json", () => {}),
    readTailIds: () => Promise.resolve(new Set(["a"])),
    onQueued: (x) => heard.push(x.id),
  });
  for (const id of ["a", "b"]) out.accept(f(id), event("catch-up"));
  out.accept(f("live-1"), event("live"));
  out.accept(f("dropped"), event("live"));
  await out.settled();
  assertEquals(heard, ["b", "live-1"]);
});

Deno.test("a ledger that cannot be read at a catch-up writes the finding rather than lose it", async () => {
  const queued: string[] = [];
  const out = new FindingsOutput({
    writer: { enqueue: (x) => queued.push(x.id) > 0 },
    logger: new Logger("json", () => {}),
    readTailIds: () => Promise.reject(new Error("EIO")),
  });
  out.accept(f("a"), event("catch-up"));
  await out.settled();
  assertEquals(queued, ["a"]);
});

Deno.test("a finding waiting for the ledger's end is listed in flight until it reaches the writer", async () => {
  const queued: string[] = [];
  let release!: (ids: Set<string>) => void;
  const out = new FindingsOutput({
    writer: { enqueue: (x) => queued.push(x.id) > 0 },
    logger: new Logger("json", () => {}),
    readTailIds: () => new Promise((r) => (release = r)),
  });
  out.accept(f("a"), event("catch-up"));
  out.accept(f("b"), event("live"));
  await Promise.resolve();
  assertEquals(out.inFlight().map((x) => x.id), ["a", "b"]);
  assertEquals(queued, []);
  release(new Set());
  await out.settled();
  assertEquals(out.inFlight(), []);
  assertEquals(queued, ["a", "b"]);
});

Deno.test("findings in flight stay listed in order while thousands pass through", async () => {
  const total = 10_000;
  const seen: string[] = [];
  const out: FindingsOutput = new FindingsOutput({
    writer: {
      enqueue: (x) => {
        // At the moment a finding reaches the writer it is the oldest still in flight.
        const waiting = out.inFlight();
        if (waiting[0]?.id !== x.id || waiting.length !== total - seen.length) {
          throw new Error(`in flight: ${waiting[0]?.id} of ${waiting.length} at ${x.id}`);
        }
        seen.push(x.id);
        return true;
      },
    },
    logger: new Logger("json", () => {}),
    readTailIds: () => Promise.resolve(new Set()),
  });
  for (let i = 0; i < total; i++) out.accept(f(`id${i}`), event("catch-up"));
  await out.settled();
  assertEquals(out.failures, 0);
  assertEquals(seen.length, total);
  assertEquals(seen[total - 1], `id${total - 1}`);
  assertEquals(out.inFlight(), []);
});

Deno.test("a finding that settles later keeps its place, and the snapshot lists it until then", async () => {
  const queued: string[] = [];
  const out = new FindingsOutput({
    writer: { enqueue: (x) => queued.push(`${x.id}:${x.outcome}`) > 0 },
    logger: new Logger("json", () => {}),
    readTailIds: () => Promise.resolve(new Set()),
  });
  let settle!: (f: Finding) => void;
  out.accept(f("a"), event("live"));
  out.accept(f("b"), event("live"), new Promise((r) => settle = r));
  out.accept(f("c"), event("live"));
  await flushMicrotasks();
  // a is out; b waits for its settlement, and c waits behind it.
  assertEquals(queued, ["a:logged"]);
  assertEquals(out.inFlight().map((x) => `${x.id}:${x.outcome}`), ["b:logged", "c:logged"]);
  settle({ ...f("b"), outcome: "blocked_and_logged" });
  await out.settled();
  assertEquals(queued, ["a:logged", "b:blocked_and_logged", "c:logged"]);
  assertEquals(out.inFlight(), []);
});
