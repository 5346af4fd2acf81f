/**
 * Run starts and answers from what a real gateway sent: the live events of
 * examples/openclaw-tool-calls.jsonl and the chat.history of the same session
 * (tests/fixtures/openclaw/tool_history.json): six runs, each one tool call then "done".
 */
import { assertEquals } from "../../../support/assert.ts";
import {
  runEvent,
  runItemFromEvent,
  runItemsFromHistory,
} from "../../../../lib/gateway/openclaw/run_events.ts";
import type { EventFrame } from "../../../../lib/gateway/openclaw/protocol.ts";
import { RecordingDecoder } from "../../../../lib/gateway/recording.ts";

const ROOT = new URL("../../../../", import.meta.url);
const frames: EventFrame[] = (await Deno.readTextFile(
  new URL("examples/openclaw-tool-calls.jsonl", ROOT),
)).trim().split("\n").map((l) => JSON.parse(l));
const history = JSON.parse(
  await Deno.readTextFile(new URL("tests/fixtures/openclaw/tool_history.json", ROOT)),
);

Deno.test("live: each run's lifecycle start and chat final, in order, for the same six runs", () => {
  const all = frames.flatMap((f) => runItemFromEvent(f, "rest") ?? []);
  // Each run's lifecycle end closes it too (after its answer here).
  assertEquals(all.filter((i) => i.run.phase === "ended").length, 6);
  const items = all.filter((i) => i.run.phase !== "ended");
  assertEquals(items.length, 12);
  const runs = [...new Set(items.map((i) => i.run.runId))];
  assertEquals(runs.length, 6);
  for (const r of runs) {
    const [start, end] = items.filter((i) => i.run.runId === r);
    assertEquals([start!.run.phase, end!.run.phase], ["start", "answered"]);
    assertEquals(start!.at! <= end!.at!, true);
    assertEquals([start!.agentId, start!.conversation], ["primary", "c1"]);
  }
});

Deno.test("history: the person's message starts a run, its last assistant message answers", () => {
  const items = runItemsFromHistory(history.sessionKey, "primary", history.messages, {
    from: "rest",
    sessionId: history.sessionId,
  });
  const live = frames.flatMap((f) => runItemFromEvent(f, "rest") ?? [])
    .filter((i) => i.run.phase !== "ended");
  assertEquals(items.map((i) => i.key), live.map((i) => i.key));
  for (const i of items) assertEquals(typeof i.seq, "number");
});

Deno.test("injected messages and heartbeat runs are not runs", () => {
  const inject = {
    type: "event",
    event: "chat",
    payload: {
      runId: "inject-1",
      sessionKey: "agent:primary:c",
      state: "final",
      message: { role: "assistant", timestamp: 1 },
    },
  } as EventFrame;
  assertEquals(runItemFromEvent(inject, "rest"), undefined);
  const heartbeat = {
    type: "event",
    event: "agent",
    payload: {
      runId: "r",
      sessionKey: "agent:primary:main",
      stream: "lifecycle",
      isHeartbeat: true,
      data: { phase: "start", startedAt: 1 },
    },
  } as EventFrame;
  assertEquals(runItemFromEvent(heartbeat, "rest"), undefined);
});

Deno.test("the run event carries the gateway's time and an id the run keeps", () => {
  const [start, end] = frames.flatMap((f) => runItemFromEvent(f, "rest") ?? [])
    .filter((i) => i.run.phase !== "ended");
  const a = runEvent(start!, { at: 9, source: "live" });
  const b = runEvent(end!, { at: 10, source: "catch-up" });
  assertEquals([a.kind, a.phase, a.recordedAt, a.at], ["run", "start", start!.at, 9]);
  assertEquals(b.phase, "answered");
  assertEquals(a.id, b.id);
});

Deno.test("a recording gives the same run starts and answers, with the final answer's text", () => {
  const decoder = new RecordingDecoder("rest");
  const events = frames.map((f) => decoder.decode(f, 0)).flatMap((d) =>
    d.kind === "event" ? [d.event, ...(d.more ?? [])] : []
  );
  const runs = events.filter((e) => e.kind === "run" && e.phase !== "ended");
  assertEquals(runs.length, 12);
  const answers = runs.filter((e) => e.kind === "run" && e.phase === "answered");
  assertEquals(answers.map((e) => e.kind === "run" && e.text), Array(6).fill("done"));
  // Each run's turn is announced too, and says which run it belongs to.
  const turns = events.filter((e) => e.kind === "turn");
  assertEquals(turns.length, 6);
  assertEquals(turns.every((e) => e.kind === "turn" && e.run !== undefined), true);
});

Deno.test("an aborted or failed run ends: lifecycle end or error, chat aborted or error", () => {
  const ev = (event: string, payload: Record<string, unknown>) =>
    ({
      type: "event",
      event,
      payload: { runId: "r9", sessionKey: "agent:primary:c", ...payload },
    }) as EventFrame;
  for (
    const f of [
      ev("agent", { stream: "lifecycle", data: { phase: "end", endedAt: 5 } }),
      ev("agent", { stream: "lifecycle", data: { phase: "error" } }),
      ev("chat", { state: "aborted" }),
      ev("chat", { state: "error", ts: 3 }),
    ]
  ) {
    const it = runItemFromEvent(f, "rest");
    assertEquals([it?.run.phase, it?.key, it?.agentId], ["ended", "runstop:r9", "primary"]);
  }
});

Deno.test("a run ended by an abort says so; one that ended otherwise does not", () => {
  const ev = (event: string, payload: Record<string, unknown>) =>
    ({
      type: "event",
      event,
      payload: { runId: "r9", sessionKey: "agent:primary:c", ts: 1, ...payload },
    }) as EventFrame;
  const aborted = (f: EventFrame) => {
    const it = runItemFromEvent(f, "rest")!;
    return runEvent(it, { at: 2, source: "live" }).aborted === true;
  };
  // As the real gateway sent them after chat.abort.
  assertEquals(aborted(ev("chat", { state: "aborted", stopReason: "rpc" })), true);
  assertEquals(
    aborted(ev("agent", {
      stream: "lifecycle",
      data: { phase: "end", status: "cancelled", aborted: true, stopReason: "rpc", endedAt: 5 },
    })),
    true,
  );
  assertEquals(
    aborted(ev("agent", { stream: "lifecycle", data: { phase: "end", status: "cancelled" } })),
    true,
  );
  assertEquals(aborted(ev("agent", { stream: "lifecycle", data: { phase: "end" } })), false);
  assertEquals(aborted(ev("agent", { stream: "lifecycle", data: { phase: "error" } })), false);
  assertEquals(aborted(ev("chat", { state: "error" })), false);
});
