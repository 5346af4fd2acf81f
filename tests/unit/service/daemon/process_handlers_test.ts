import { assertEquals } from "../../../support/assert.ts";
import { installProcessHandlers } from "../../../../lib/service/daemon/process_handlers.ts";
import { Logger } from "../../../../lib/service/log.ts";

Deno.test("a stop asked for twice stops once and reports the repeat", async () => {
  let stop!: () => void;
  let repeats = 0;
  const handlers = installProcessHandlers({
    logger: new Logger("json", () => {}),
    stopSignal: new Promise<void>((r) => (stop = r)),
    onRepeatedStop: () => repeats++,
    onDenied: () => {},
  });
  try {
    handlers.requestStop();
    stop();
    await handlers.stopped;
    await Promise.resolve();
    assertEquals(repeats, 1);
  } finally {
    handlers.dispose();
    handlers.removeSignalListeners();
  }
});

Deno.test("an operation the sandbox refuses is counted, logged, and does not end the process", () => {
  const lines: string[] = [];
  let denied = 0;
  const handlers = installProcessHandlers({
    logger: new Logger("json", (l) => lines.push(l)),
    onRepeatedStop: () => {},
    onDenied: () => denied++,
  });
  try {
    const event = new ErrorEvent("error", {
      error: new Deno.errors.NotCapable("Requires net access to example.com:443"),
      cancelable: true,
    });
    globalThis.dispatchEvent(event);
    assertEquals(event.defaultPrevented, true);
    assertEquals(denied, 1);
    assertEquals(handlers.denials().denials, 1);
    assertEquals(JSON.parse(lines[0]!).event, "sandbox_denied");
  } finally {
    handlers.dispose();
    handlers.removeSignalListeners();
  }
});
