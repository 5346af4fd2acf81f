import { assert, assertEquals } from "../../support/assert.ts";
import { BatchedSink, Logger } from "../../../lib/service/log.ts";

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

Deno.test("a batched sink writes a burst of lines in one write, errors at once, and everything on flush", () => {
  const writes: string[] = [];
  const sink = new BatchedSink((t) => writes.push(t), 60_000);
  try {
    for (let i = 0; i < 100; i++) sink.line(`line ${i}`);
    assertEquals(writes, []);
    sink.line("an error", true);
    assertEquals(writes.length, 1);
    assertEquals(writes[0]!.split("\n").length, 102); // 101 lines and the final newline
    assert(writes[0]!.endsWith("an error\n"));
    sink.line("after");
    sink.flush();
    assertEquals(writes[1], "after\n");
  } finally {
    sink.close();
  }
});

Deno.test("a batched sink writes once it holds maxBytes, without waiting", () => {
  const writes: string[] = [];
  const sink = new BatchedSink((t) => writes.push(t), 60_000, 100);
  try {
    for (let i = 0; i < 10; i++) sink.line("x".repeat(20));
    assertEquals(writes.length, 2);
    assertEquals(writes.join("").length, 10 * 21);
  } finally {
    sink.close();
  }
});
