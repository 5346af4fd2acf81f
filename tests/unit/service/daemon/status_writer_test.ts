import { assertEquals } from "../../../support/assert.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import {
  COUNTERS_WRITE_MS,
  STATUS_COALESCE_MS,
  STATUS_RETRY_MS,
  StatusFileWriter,
} from "../../../../lib/service/daemon/status_writer.ts";
import { Logger } from "../../../../lib/service/log.ts";
import type { StatusReport } from "../../../../lib/service/status.ts";

/** A writer whose report is `{ state, frames, updatedAt }`, set by the test. */
function writer(
  opts: { changesAt?: (now: number) => number | undefined; fail?: () => boolean } = {},
) {
  const clock = new FakeClock();
  const model = { state: "CONNECTED", frames: 0 };
  const written: { state: string; frames: number }[] = [];
  const file = new StatusFileWriter({
    path: "status.json",
    report: ({ final }) =>
      ({
        state: final ? "STOPPED" : model.state,
        frames: model.frames,
        updatedAt: new Date(clock.now()).toISOString(),
      }) as unknown as StatusReport,
    ...(opts.changesAt ? { changesAt: opts.changesAt } : {}),
    logger: new Logger("json", () => {}),
    clock,
    write: (_p, r) => {
      if (opts.fail?.()) return Promise.reject(new Error("No space left on device"));
      const { state, frames } = r as unknown as { state: string; frames: number };
      written.push({ state, frames });
      return Promise.resolve();
    },
  });
  return { clock, file, written, model };
}

Deno.test("a burst of changes is one write, after the coalescing delay", async () => {
  const { clock, file, written } = writer();
  for (let i = 0; i < 100; i++) file.schedule();
  await clock.tick(STATUS_COALESCE_MS - 1);
  assertEquals(written.length, 0);
  await clock.tick(1);
  assertEquals(written, [{ state: "CONNECTED", frames: 0 }]);
});

Deno.test("an idle daemon writes nothing and keeps no timer, however long; a change is written", async () => {
  const { clock, file, written, model } = writer();
  await file.flush();
  assertEquals(written.length, 1);
  // A day of fake time, in 1 s steps: no write, and nothing even waiting to fire.
  for (let i = 0; i < 86_400; i++) await clock.tick(1_000);
  assertEquals(written.length, 1);
  assertEquals(clock.pending, 0);
  model.state = "DISCONNECTED";
  file.schedule();
  await clock.tick(STATUS_COALESCE_MS);
  assertEquals(written.at(-1), { state: "DISCONNECTED", frames: 0 });
  assertEquals(clock.pending, 0);
});

Deno.test("a report equal but for its time is not written again", async () => {
  const { clock, file, written } = writer();
  await file.flush();
  await clock.tick(60_000);
  file.schedule();
  await clock.tick(STATUS_COALESCE_MS);
  await file.flush();
  assertEquals(written.length, 1);
});

Deno.test("moving counters are written at most every COUNTERS_WRITE_MS; a state change at once", async () => {
  const { clock, file, written, model } = writer();
  await file.flush();
  for (let t = 0; t < 3 * COUNTERS_WRITE_MS; t += 100) {
    model.frames++;
    file.countersMoved();
    await clock.tick(100);
  }
  assertEquals(written.length, 1 + 3);
  model.state = "DEGRADED";
  file.countersMoved();
  file.schedule();
  await clock.tick(STATUS_COALESCE_MS);
  assertEquals(written.at(-1)!.state, "DEGRADED");
  assertEquals(clock.pending, 0);
});

Deno.test("a timer runs only while time alone will change the report", async () => {
  let due: number | undefined;
  const { clock, file, written, model } = writer({ changesAt: () => due });
  due = clock.now() + 2_000;
  await file.flush();
  assertEquals(clock.pending, 1);
  model.state = "DEGRADED";
  due = undefined;
  await clock.tick(2_000);
  assertEquals(written.at(-1)!.state, "DEGRADED");
  assertEquals(clock.pending, 0);
});

Deno.test("a failed write is tried again until it is written", async () => {
  let failing = true;
  const { clock, file, written } = writer({ fail: () => failing });
  await file.flush();
  assertEquals(written.length, 0);
  assertEquals(clock.pending, 1);
  await clock.tick(STATUS_RETRY_MS);
  assertEquals(written.length, 0);
  failing = false;
  await clock.tick(STATUS_RETRY_MS);
  assertEquals(written.length, 1);
  assertEquals(clock.pending, 0);
});

Deno.test("stop writes the final report once and leaves no timer", async () => {
  const { clock, file, written } = writer();
  await file.flush();
  file.schedule();
  file.countersMoved();
  await file.stop();
  assertEquals(written.map((w) => w.state), ["CONNECTED", "STOPPED"]);
  assertEquals(clock.pending, 0);
});
