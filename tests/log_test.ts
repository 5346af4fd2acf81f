import { assertEquals } from "./support/assert.ts";
import { Logger } from "../lib/log.ts";

Deno.test("a newline in gateway data cannot forge a second text log line", () => {
  const lines: string[] = [];
  const log = new Logger("text", (l) => lines.push(l), () => 0);
  log.warn("Sequence violation in conversation g\n1970-01-01T00:00:00.000Z INFO  stopped", {
    conversation: "g\nx",
  });
  assertEquals(lines.length, 1);
  assertEquals(lines[0]!.split("\n").length, 1);
  assertEquals(
    lines[0],
    '1970-01-01T00:00:00.000Z WARN  Sequence violation in conversation g\\n1970-01-01T00:00:00.000Z INFO  stopped conversation="g\\nx"',
  );
});

Deno.test("json log lines carry the message and fields as one object", () => {
  const lines: string[] = [];
  new Logger("json", (l) => lines.push(l), () => 0).info("connected", { gateway: "ws://x" });
  assertEquals(JSON.parse(lines[0]!), {
    ts: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "connected",
    gateway: "ws://x",
  });
});
