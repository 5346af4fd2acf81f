import { assertEquals } from "../../../support/assert.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import {
  STATUS_COALESCE_MS,
  StatusFileWriter,
} from "../../../../lib/service/daemon/status_writer.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { STATUS_INTERVAL_MS, type StatusReport } from "../../../../lib/service/status.ts";

function writer() {
  const clock = new FakeClock();
  const written: boolean[] = [];
  const file = new StatusFileWriter({
    path: "status.json",
    report: ({ final }) => ({ final } as unknown as StatusReport),
    logger: new Logger("json", () => {}),
    clock,
    write: (_p, r) => {
      written.push((r as unknown as { final: boolean }).final);
      return Promise.resolve();
    },
  });
  return { clock, file, written };
}

Deno.test("a burst of changes is one write, after the coalescing delay", async () => {
  const { clock, file, written } = writer();
  for (let i = 0; i < 100; i++) file.schedule();
  await clock.tick(STATUS_COALESCE_MS - 1);
  assertEquals(written.length, 0);
  await clock.tick(1);
  assertEquals(written, [false]);
});

Deno.test("the periodic refresh runs on the clock, and stop writes the final report once", async () => {
  const { clock, file, written } = writer();
  file.start();
  await clock.tick(STATUS_INTERVAL_MS * 3);
  assertEquals(written, [false, false, false]);
  file.schedule();
  await file.stop();
  assertEquals(written, [false, false, false, true]);
  // Nothing is left to fire after the final report.
  assertEquals(clock.pending, 0);
});
