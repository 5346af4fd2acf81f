/**
 * Tool calls from what a real gateway sent (openclaw@2026.9.6 driven by the scripted model):
 * the live events of examples/openclaw-tool-calls.jsonl and the chat.history of the same
 * session (tests/fixtures/openclaw/tool_history.json). The session ran, in order: exec
 * `ls -la`; Tool Search `write` b.txt; Tool Search `web_fetch`; exec `rm -f b.txt`; then,
 * in permission mode read-only: `write` c.txt (not found) and exec `touch d.txt` (denied).
 */
import { assertEquals } from "../../../support/assert.ts";
import {
  MAX_OPEN_ARGS_BYTES,
  ToolCallAssembler,
  type ToolCallItem,
  toolCallsFromHistory,
  toolStatusOf,
} from "../../../../lib/gateway/openclaw/tool_calls.ts";
import { toolCallEvent } from "../../../../lib/gateway/openclaw/tool_event.ts";
import { RecordingDecoder } from "../../../../lib/gateway/recording.ts";
import { canonicalJson, sha256Hex } from "../../../../lib/util/mod.ts";

const ROOT = new URL("../../../../", import.meta.url);
const frames: { event: string; payload: Record<string, unknown> }[] = (await Deno.readTextFile(
  new URL("examples/openclaw-tool-calls.jsonl", ROOT),
)).trim().split("\n").map((l) => JSON.parse(l));
const history = JSON.parse(
  await Deno.readTextFile(new URL("tests/fixtures/openclaw/tool_history.json", ROOT)),
);

const EXPECTED = [
  ["exec", undefined, "executed", { command: "ls -la" }],
  ["write", "tool_call", "executed", { path: "b.txt", content: "x" }],
  ["web_fetch", "tool_call", "failed", { url: "http://127.0.0.1:9/" }],
  ["exec", undefined, "executed", { command: "rm -f b.txt" }],
  ["write", undefined, "not_found", { path: "c.txt", content: "y" }],
  ["exec", undefined, "blocked", { command: "touch d.txt" }],
];

function liveItems(
  assembler: ToolCallAssembler,
  skip: (f: (typeof frames)[number]) => boolean = () => false,
) {
  const items: ToolCallItem[] = [];
  for (const f of frames) {
    if (skip(f)) continue;
    if (f.event === "session.message") assembler.noteMessage(f.payload);
    if (f.event !== "session.tool") continue;
    const r = assembler.onToolEvent(f.payload);
    if (typeof r === "object") items.push(r);
  }
  return items;
}

Deno.test("live session.tool events give each call once, at its result, Tool Search as the inner call", () => {
  const assembler = new ToolCallAssembler("rest");
  const items = liveItems(assembler);
  assertEquals(
    items.map((i) => [i.call.tool, i.call.via, i.call.status, i.call.args]),
    EXPECTED,
  );
  for (const i of items) {
    assertEquals([i.agentId, i.conversation, i.sessionKey], ["primary", "c1", "agent:primary:c1"]);
    assertEquals(i.key, `tool:${i.call.runId}:${i.call.callId}`);
  }
  assertEquals(assembler.open, 0);
});

Deno.test("a call whose start was missed takes its arguments from the assistant message", () => {
  const items = liveItems(
    new ToolCallAssembler("rest"),
    (f) => f.event === "session.tool" && (f.payload.data as { phase: string }).phase === "start",
  );
  // An inner Tool Search call takes them from its outer call's. The write OpenClaw did not
  // find in a read-only session is announced by no assistant message (nor kept in history):
  // without its start, its arguments are unknown, and the call is still reported.
  assertEquals(
    items.map((i) => [i.call.tool, i.call.args]),
    EXPECTED.map((e, i) => [e[0], i === 4 ? undefined : e[3]]),
  );
});

Deno.test("chat.history gives the same calls, in order, with the same keys as live", () => {
  const live = liveItems(new ToolCallAssembler("rest"));
  const found = toolCallsFromHistory(history.sessionKey, "primary", history.messages, {
    from: "rest",
    sessionId: history.sessionId,
    permissionMode: history.sessionInfo.permissionMode,
  });
  assertEquals(found.open, []);
  assertEquals(found.done.map((i) => i.key), live.map((i) => i.key));
  assertEquals(
    found.done.map((i) => [i.call.tool, i.call.via, i.call.status]),
    EXPECTED.map((e) => [e[0], e[1], e[2]]),
  );
  // The not-found write has no toolCall row (OpenClaw does not keep it): only its result.
  assertEquals(found.done[4]!.call.args, undefined);
  for (const i of found.done) {
    assertEquals(typeof i.seq, "number");
    assertEquals(i.call.permissionMode, "read-only");
  }
});

Deno.test("a call whose result is not in history yet is open, and its live result completes it", () => {
  const msgs = history.messages.slice(0, 2); // the user message and the exec's toolCall row
  const found = toolCallsFromHistory(history.sessionKey, "primary", msgs, { from: "rest" });
  assertEquals(found.done, []);
  assertEquals(found.open.map((i) => [i.call.tool, i.call.status]), [["exec", "unknown"]]);
  const assembler = new ToolCallAssembler("rest");
  assembler.noteOpen(found.open[0]!);
  const result = frames.find((f) =>
    f.event === "session.tool" && (f.payload.data as { phase: string }).phase === "result"
  )!;
  const item = assembler.onToolEvent(result.payload) as ToolCallItem;
  assertEquals([item.call.tool, item.call.args, item.call.status], [
    "exec",
    { command: "ls -la" },
    "executed",
  ]);
});

Deno.test("the result's markers decide what became of a call", () => {
  assertEquals(toolStatusOf(false, {}, []), "executed");
  assertEquals(toolStatusOf(true, { status: "blocked" }, []), "blocked");
  assertEquals(toolStatusOf(true, { deniedReason: "policy" }, []), "blocked");
  assertEquals(toolStatusOf(true, { error: "exec denied: host=gateway" }, []), "blocked");
  assertEquals(
    toolStatusOf(true, {}, [{ type: "text", text: "Tool write not found" }]),
    "not_found",
  );
  assertEquals(toolStatusOf(true, {}, [{ type: "text", text: "ECONNREFUSED" }]), "failed");
  // A person denied an exec in a guarded session (seen on openclaw@2026.9.6).
  const userDenied = "Exec denied (gateway id=5ea5, user-denied): touch guarded.txt";
  assertEquals(
    toolStatusOf(true, { status: "failed", aggregated: userDenied }, [{
      type: "text",
      text: userDenied,
    }]),
    "blocked",
  );
  // A command that ran and failed on a file's mode was not refused by the gateway.
  assertEquals(
    toolStatusOf(true, { status: "failed" }, [{ type: "text", text: "cat: x: Permission denied" }]),
    "failed",
  );
});

Deno.test("heartbeat tool events and malformed ones give no call", () => {
  const a = new ToolCallAssembler("rest");
  assertEquals(a.onToolEvent({ runId: "r", data: { phase: "result", name: "x" } }), "bad");
  assertEquals(a.onToolEvent(null), "bad");
  assertEquals(
    a.onToolEvent({
      runId: "r",
      sessionKey: "agent:primary:c",
      isHeartbeat: true,
      data: { phase: "result", name: "write", toolCallId: "t" },
    }),
    "pending",
  );
});

Deno.test("open calls are bounded: the oldest are forgotten", () => {
  const a = new ToolCallAssembler("rest", 3);
  for (let i = 0; i < 10; i++) {
    a.onToolEvent({
      runId: "r",
      sessionKey: "agent:primary:c",
      data: { phase: "start", name: "write", toolCallId: `t${i}`, args: {} },
    });
  }
  assertEquals(a.open, 3);
});

Deno.test("the rule event hashes the canonical arguments and keys its id on session and call", () => {
  const [item] = liveItems(new ToolCallAssembler("rest"));
  const e = toolCallEvent(item!, { at: 5, source: "live" });
  assertEquals(e.argsHash, sha256Hex(canonicalJson({ command: "ls -la" })));
  assertEquals([e.kind, e.tool, e.call, e.status, e.at, e.source], [
    "tool_call",
    "exec",
    item!.call.callId,
    "executed",
    5,
    "live",
  ]);
  const again = toolCallEvent({ ...item!, call: { ...item!.call, args: { command: "ls -la" } } }, {
    at: 9,
    source: "catch-up",
  });
  assertEquals(again.id, e.id);
});

Deno.test("a recording decodes the same calls as the live watcher, each once", () => {
  const decoder = new RecordingDecoder("rest");
  const calls = frames.map((f) => decoder.decode({ type: "event", ...f }, 0))
    .flatMap((d) => d.kind === "event" && d.event.kind === "tool_call" ? [d.event] : []);
  assertEquals(calls.map((c) => [c.tool, c.status]), EXPECTED.map((e) => [e[0], e[2]]));
});

Deno.test("open calls are bounded in bytes too: large arguments push the oldest out", () => {
  const a = new ToolCallAssembler("rest");
  const big = "x".repeat(1024 * 1024); // 2 MB as a string in memory
  for (let i = 0; i < 20; i++) {
    a.onToolEvent({
      runId: "r",
      sessionKey: "agent:primary:c",
      data: { phase: "start", name: "write", toolCallId: `t${i}`, args: { content: big } },
    });
  }
  // At most MAX_OPEN_ARGS_BYTES (16 MiB) of arguments: seven or eight of these, not twenty.
  assertEquals(a.open * 2 * big.length <= MAX_OPEN_ARGS_BYTES && a.open >= 7, true, `${a.open}`);
});
