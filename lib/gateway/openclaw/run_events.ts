/**
 * Agent runs from OpenClaw: when a run began and when it gave its final answer, live (the
 * `agent` lifecycle start, the `chat` final) and from `chat.history` (the person's message
 * that started it, the run's last assistant message). Each is an item placed among the
 * session's turns, counted once. Pure.
 * @module
 */
import { boundedId, type EventSource, type RunEvent } from "../../rules/mod.ts";

import {
  assistantText,
  type ConversationFrom,
  type EventFrame,
  type Turn,
  turnFrom,
} from "./protocol.ts";
import { agentEventFields } from "./turn_event.ts";

/** A run's start or final answer. */
export interface RunInfo {
  /** The run id. */
  runId: string;
  /** Which end of the run. */
  phase: "start" | "answered" | "ended";
  /** Set when it ended aborted (`chat.abort`, a stop): lifecycle end cancelled, chat aborted. */
  aborted?: true;
}

/** A run's start or answer placed among a session's turns. */
export interface RunItem extends Turn {
  /** The run. */
  run: RunInfo;
}

/** Whether a turn-like item is a run's start or answer. */
export function isRunItem(t: Turn): t is RunItem {
  return (t as Partial<RunItem>).run !== undefined;
}

type Rec = Record<string, unknown>;

function rec(x: unknown): Rec | undefined {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? x as Rec : undefined;
}

function item(
  base: { sessionKey: unknown; agentId: unknown; seq?: unknown; at: unknown },
  run: RunInfo,
  from: ConversationFrom,
): RunItem | undefined {
  // A start's or an answer's time is what is judged; an end needs none.
  if (typeof base.at !== "number" && run.phase !== "ended") return undefined;
  const prefix = { start: "runstart", answered: "runend", ended: "runstop" }[run.phase];
  const key = `${prefix}:${run.runId}`;
  const t = turnFrom(base.sessionKey, base.agentId, key, base.seq, base.at, from);
  return typeof t === "object" ? { ...t, run } : undefined;
}

// Injected messages (chat.inject) are not runs.
function realRun(runId: unknown): runId is string {
  return typeof runId === "string" && runId !== "" && !runId.startsWith("inject-");
}

/** The run start or answer an event announces: the lifecycle start, or the `chat` final. */
export function runItemFromEvent(frame: EventFrame, from: ConversationFrom): RunItem | undefined {
  const p = rec(frame.payload);
  if (p === undefined || !realRun(p.runId)) return undefined;
  if (frame.event === "agent") {
    const data = rec(p.data);
    if (p.stream !== "lifecycle" || p.isHeartbeat === true) return undefined;
    if (data?.phase === "end" || data?.phase === "error") {
      // The run is over, answered or not: it is no longer in progress.
      const aborted = data.aborted === true || data.status === "cancelled";
      return item(
        { sessionKey: p.sessionKey, agentId: p.agentId, at: data.endedAt ?? p.ts },
        { runId: p.runId, phase: "ended", ...(aborted ? { aborted: true as const } : {}) },
        from,
      );
    }
    if (data?.phase !== "start") return undefined;
    const it = item(
      { sessionKey: p.sessionKey, agentId: p.agentId, at: data.startedAt ?? p.ts },
      { runId: p.runId, phase: "start" },
      from,
    );
    if (it && typeof p.sessionId === "string") it.sessionId = p.sessionId;
    return it;
  }
  if (frame.event === "chat" && (p.state === "aborted" || p.state === "error")) {
    return item(
      { sessionKey: p.sessionKey, agentId: p.agentId, at: p.ts ?? rec(p.message)?.timestamp },
      { runId: p.runId, phase: "ended", ...(p.state === "aborted" ? { aborted: true } : {}) },
      from,
    );
  }
  if (frame.event === "chat" && p.state === "final") {
    const msg = rec(p.message);
    if (msg?.role !== "assistant") return undefined;
    const it = item(
      { sessionKey: p.sessionKey, agentId: p.agentId, at: msg.timestamp ?? p.ts },
      { runId: p.runId, phase: "answered" },
      from,
    );
    const text = assistantText(msg);
    if (it !== undefined && text !== undefined) it.text = text;
    return it;
  }
  return undefined;
}

/**
 * The runs in a session's history (messages oldest first): a start for each message that
 * started a run (its idempotency key is `<runId>:user`), an answer at each run's last
 * assistant message that is not a tool call.
 */
export function runItemsFromHistory(
  sessionKey: string,
  agentId: string | undefined,
  messages: readonly unknown[],
  opts: { from: ConversationFrom; sessionId?: string },
): RunItem[] {
  const out: RunItem[] = [];
  const answers = new Map<string, RunItem>();
  for (const m of messages) {
    const msg = rec(m);
    const meta = rec(msg?.__openclaw);
    if (msg === undefined) continue;
    if (msg.role === "user") {
      const key = msg.idempotencyKey ?? meta?.idempotencyKey;
      if (typeof key !== "string" || !key.endsWith(":user")) continue;
      const runId = key.slice(0, -5);
      if (!realRun(runId)) continue;
      const it = item(
        { sessionKey, agentId, seq: meta?.seq, at: msg.timestamp ?? meta?.recordTimestampMs },
        { runId, phase: "start" },
        opts.from,
      );
      if (it) out.push(it);
    } else if (msg.role === "assistant" && msg.stopReason !== "toolUse") {
      const runId = meta?.runId;
      if (!realRun(runId)) continue;
      const it = item(
        { sessionKey, agentId, seq: meta?.seq, at: msg.timestamp ?? meta?.recordTimestampMs },
        { runId, phase: "answered" },
        opts.from,
      );
      if (it === undefined) continue;
      const text = assistantText(msg);
      if (text !== undefined) it.text = text;
      // The run's last answer counts: an earlier one of the same run gives way.
      const before = answers.get(runId);
      if (before !== undefined) out.splice(out.indexOf(before), 1);
      answers.set(runId, it);
      out.push(it);
    }
  }
  if (opts.sessionId !== undefined) { for (const it of out) it.sessionId = opts.sessionId; }
  return out;
}

/** The rule event for a run item, seen at `seen.at` and learnt of from `seen.source`. */
export function runEvent(item: RunItem, seen: { at: number; source: EventSource }): RunEvent {
  return {
    kind: "run",
    // The run's id is its turn's: the run's findings derive theirs from it.
    ...agentEventFields(item, seen, `run:${item.run.runId}`),
    run: boundedId(item.run.runId),
    phase: item.run.phase,
    recordedAt: item.at ?? seen.at,
    ...(item.run.phase === "answered" && item.text !== undefined ? { text: item.text } : {}),
    ...(item.run.aborted ? { aborted: true } : {}),
  };
}
