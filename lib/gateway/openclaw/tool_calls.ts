/**
 * Tool calls from OpenClaw: live from `session.tool` events (the arguments from the start,
 * or from the assistant message that announced the call; what became of it from the
 * result), and from `chat.history` (`toolCall` and `toolResult` rows, and the rows of calls
 * made through Tool Search). Each call is one item, keyed by run and tool call id, reported
 * when its result is known. A Tool Search call is reported as the inner call it made. Pure.
 * @module
 */
import type { ToolStatus } from "../../rules/mod.ts";
import { type ConversationFrom, type Turn, turnFrom } from "./protocol.ts";

/** The Tool Search tool that runs another tool by name. */
export const TOOL_SEARCH_CALL = "tool_call";

/** What is known of one call. */
export interface ToolCallInfo {
  /** The run it was made in, when known. */
  runId: string | undefined;
  /** The tool call id. */
  callId: string;
  /** The tool (the inner one for Tool Search). */
  tool: string;
  /** The arguments (undefined when not seen). */
  args: unknown;
  /** What became of it. */
  status: ToolStatus;
  /** `tool_call` when made through Tool Search. */
  via?: string;
  /** The session's permission mode, when the gateway said. */
  permissionMode?: string;
}

/** A tool call placed among a session's turns (ordered and counted once like them). */
export interface ToolCallItem extends Turn {
  /** The call. */
  call: ToolCallInfo;
}

/** Whether a turn-like item is a tool call. */
export function isToolCallItem(t: Turn): t is ToolCallItem {
  return (t as Partial<ToolCallItem>).call !== undefined;
}

/** The key of a call: the same in every event and history row that names it. */
export function toolCallKey(runId: string | undefined, callId: string): string {
  return `tool:${runId ?? ""}:${callId}`;
}

type Rec = Record<string, unknown>;

function rec(x: unknown): Rec | undefined {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? x as Rec : undefined;
}

function str(x: unknown): string | undefined {
  return typeof x === "string" && x !== "" ? x : undefined;
}

function firstText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  for (const c of content) {
    const t = rec(c)?.text;
    if (typeof t === "string") return t;
  }
  return "";
}

/**
 * What a result says became of the call. Only fixed markers are looked for (the result's
 * text is never kept): `details.status: "blocked"`, a denial, or "Tool X not found".
 */
export function toolStatusOf(isError: unknown, details: unknown, content: unknown): ToolStatus {
  if (isError !== true) return "executed";
  const d = rec(details);
  if (d?.status === "blocked" || d?.deniedReason !== undefined) return "blocked";
  const text = firstText(content).trim();
  if (/^Tool \S+ not found$/.test(text)) return "not_found";
  // OpenClaw's refusals of exec: by policy ("exec denied: host=gateway security=deny", alone or
  // in a JSON error) and by a person ("Exec denied (gateway id=…, user-denied): …").
  const denied = /^exec denied\b/i;
  if (
    denied.test(text) || (typeof d?.error === "string" && denied.test(d.error)) ||
    (typeof d?.aggregated === "string" && denied.test(d.aggregated)) ||
    (/^\{/.test(text) && /"error":\s*"exec denied\b/i.test(text))
  ) return "blocked";
  return "failed";
}

// The inner tool and arguments of a Tool Search call's arguments.
function innerOf(args: unknown): { tool: string; args: unknown } | undefined {
  const a = rec(args);
  const id = str(a?.id);
  return id === undefined ? undefined : { tool: id, args: a?.args };
}

/** A bounded map that forgets its oldest entries. */
class Bounded<V> {
  readonly #map = new Map<string, { v: V; weight: number }>();
  #weight = 0;
  /** At most `max` entries, and at most `maxWeight` in all (each entry weighs `weigh(v)`). */
  constructor(
    readonly max: number,
    readonly opts: { maxWeight?: number; weigh?: (v: V) => number } = {},
  ) {}
  get(k: string): V | undefined {
    return this.#map.get(k)?.v;
  }
  set(k: string, v: V): void {
    this.take(k);
    const weight = this.opts.weigh?.(v) ?? 0;
    this.#map.set(k, { v, weight });
    this.#weight += weight;
    const maxWeight = this.opts.maxWeight ?? Infinity;
    while (this.#map.size > this.max || (this.#weight > maxWeight && this.#map.size > 1)) {
      this.take(this.#map.keys().next().value as string);
    }
  }
  take(k: string): V | undefined {
    const e = this.#map.get(k);
    if (e === undefined) return undefined;
    this.#map.delete(k);
    this.#weight -= e.weight;
    return e.v;
  }
  get size(): number {
    return this.#map.size;
  }
}

/** The most bytes of arguments kept for open calls (their results not yet seen). */
export const MAX_OPEN_ARGS_BYTES = 16 * 1024 * 1024;

// About the memory a call's arguments take: their JSON's length (two bytes a character).
function weighArgs(s: { args: unknown }): number {
  try {
    return 2 * (JSON.stringify(s.args)?.length ?? 0);
  } catch {
    return 0;
  }
}

interface Started {
  tool: string;
  args: unknown;
  argsSeen: boolean;
  parent?: string;
}

/** Builds tool-call items from live events; remembers a bounded number of open calls. */
export class ToolCallAssembler {
  readonly #from: ConversationFrom;
  readonly #open: Bounded<Started>;
  // Tool Search calls whose inner call was seen: the outer one is not reported again.
  readonly #hadInner: Bounded<true>;

  /** `from` names conversations; at most `maxOpen` calls are remembered between start and result. */
  constructor(from: ConversationFrom, maxOpen = 4096) {
    this.#from = from;
    this.#open = new Bounded<Started>(maxOpen, {
      maxWeight: MAX_OPEN_ARGS_BYTES,
      weigh: weighArgs,
    });
    this.#hadInner = new Bounded(maxOpen);
  }

  /** Calls started and not yet ended. */
  get open(): number {
    return this.#open.size;
  }

  /** Remembers the arguments of the calls an assistant message announces (it comes first). */
  noteMessage(payload: unknown): void {
    const p = rec(payload);
    const msg = rec(p?.message);
    if (msg?.role !== "assistant" || !Array.isArray(msg.content)) return;
    const runId = str(rec(msg.__openclaw)?.runId);
    for (const c of msg.content) this.#noteCall(runId, rec(c));
  }

  /** Forgets a call whose result a catch-up found (its live result will not come). */
  forget(item: ToolCallItem): void {
    this.#open.take(toolCallKey(item.call.runId, item.call.callId));
  }

  /** Remembers a call from history whose result has not been recorded yet. */
  noteOpen(item: ToolCallItem): void {
    const k = toolCallKey(item.call.runId, item.call.callId);
    if (this.#open.get(k) === undefined) {
      this.#open.set(k, { tool: item.call.tool, args: item.call.args, argsSeen: true });
    }
  }

  #noteCall(runId: string | undefined, c: Rec | undefined, parent?: string): void {
    if (c?.type !== "toolCall") return;
    const id = str(c.id);
    const name = str(c.name);
    if (id === undefined || name === undefined) return;
    const k = toolCallKey(runId, id);
    if (this.#open.get(k) === undefined) {
      this.#open.set(k, {
        tool: name,
        args: c.arguments,
        argsSeen: true,
        ...(parent ? { parent } : {}),
      });
    }
  }

  /** Takes a `session.tool` event; returns the call when the event is its result. */
  onToolEvent(payload: unknown): ToolCallItem | "pending" | "bad" {
    const p = rec(payload);
    const data = rec(p?.data);
    const runId = str(p?.runId);
    const callId = str(data?.toolCallId);
    const name = str(data?.name);
    if (p === undefined || data === undefined || callId === undefined || name === undefined) {
      return "bad";
    }
    if (p.isHeartbeat === true) return "pending";
    const k = toolCallKey(runId, callId);
    const parent = str(data.parentToolCallId);
    if (data.phase === "start") {
      const had = this.#open.get(k);
      this.#open.set(k, {
        tool: name,
        args: "args" in data ? data.args : had?.args,
        argsSeen: "args" in data || had?.argsSeen === true,
        ...(parent ? { parent } : {}),
      });
      return "pending";
    }
    if (data.phase !== "result") return "pending";
    const started = this.#open.take(k);
    if (parent !== undefined) this.#hadInner.set(toolCallKey(runId, parent), true);
    const status = toolStatusOf(data.isError, rec(data.result)?.details, rec(data.result)?.content);
    let tool = started?.tool ?? name;
    let args = started?.argsSeen ? started.args : undefined;
    if (started?.argsSeen !== true && parent !== undefined) {
      // An inner call whose start was missed: the outer call's arguments name it.
      const inner = innerOf(this.#open.get(toolCallKey(runId, parent))?.args);
      if (inner?.tool === name) args = inner.args;
    }
    let via: string | undefined = parent !== undefined ? TOOL_SEARCH_CALL : undefined;
    if (tool === TOOL_SEARCH_CALL && parent === undefined) {
      if (this.#hadInner.take(k)) return "pending"; // judged as its inner call already
      const inner = innerOf(args);
      if (inner !== undefined) {
        tool = inner.tool;
        args = inner.args;
        via = TOOL_SEARCH_CALL;
      }
    }
    const session = rec(p.session);
    const mode = str(p.permissionMode) ?? str(session?.permissionMode);
    const base = turnFrom(p.sessionKey, p.agentId, k, undefined, p.ts, this.#from);
    if (typeof base !== "object") return "bad";
    if (typeof p.sessionId === "string") base.sessionId = p.sessionId;
    return {
      ...base,
      call: {
        runId,
        callId,
        tool,
        args,
        status,
        ...(via ? { via } : {}),
        ...(mode ? { permissionMode: mode } : {}),
      },
    };
  }
}

/** What {@link toolCallsFromHistory} found. */
export interface HistoryToolCalls {
  /** Calls with a recorded result, in transcript order. */
  done: ToolCallItem[];
  /** Calls without one yet (still running): their results will come live. */
  open: ToolCallItem[];
}

/**
 * The tool calls in a session's history (messages oldest first): each placed at its result
 * row (seq and record time), a Tool Search call as its inner call.
 */
export function toolCallsFromHistory(
  sessionKey: string,
  agentId: string | undefined,
  messages: readonly unknown[],
  opts: { from: ConversationFrom; sessionId?: string; permissionMode?: string },
): HistoryToolCalls {
  const calls = new Map<string, { tool: string; args: unknown; runId?: string; parent?: string }>();
  const hadInner = new Set<string>();
  const done: ToolCallItem[] = [];
  const resulted = new Set<string>();
  const item = (
    runId: string | undefined,
    callId: string,
    c: { tool: string; args: unknown; status: ToolStatus; via?: string },
    meta: Rec | undefined,
    fallbackAt: unknown,
  ): ToolCallItem | undefined => {
    const base = turnFrom(
      sessionKey,
      agentId,
      toolCallKey(runId, callId),
      meta?.seq,
      meta?.recordTimestampMs ?? fallbackAt,
      opts.from,
    );
    if (typeof base !== "object") return undefined;
    if (opts.sessionId !== undefined) base.sessionId = opts.sessionId;
    return {
      ...base,
      call: {
        runId,
        callId,
        tool: c.tool,
        args: c.args,
        status: c.status,
        ...(c.via ? { via: c.via } : {}),
        ...(opts.permissionMode ? { permissionMode: opts.permissionMode } : {}),
      },
    };
  };
  for (const m of messages) {
    const msg = rec(m);
    if (msg === undefined) continue;
    const meta = rec(msg.__openclaw);
    const runId = str(meta?.runId) ?? str(msg.runId);
    if (msg.role === "assistant" && Array.isArray(msg.content)) {
      for (const c of msg.content.map(rec)) {
        if (c?.type === "toolCall" && str(c.id) && str(c.name)) {
          calls.set(str(c.id)!, { tool: str(c.name)!, args: c.arguments, runId });
        }
      }
    } else if (msg.role === "custom" && Array.isArray(msg.content)) {
      // A call made through Tool Search: its call and its result in one row.
      const parts = msg.content.map(rec);
      const call = parts.find((c) => c?.type === "toolCall");
      const result = parts.find((c) => c?.type === "toolResult" || c?.role === "toolResult");
      const id = str(call?.id);
      const name = str(call?.name);
      const parent = str(call?.parentToolCallId);
      if (id === undefined || name === undefined || result === undefined) continue;
      const run = str(call?.runId) ?? runId;
      if (parent !== undefined) hadInner.add(parent);
      resulted.add(id);
      const it = item(
        run,
        id,
        {
          tool: name,
          args: call?.arguments,
          status: toolStatusOf(result.isError, result.details, result.content),
          via: TOOL_SEARCH_CALL,
        },
        meta,
        msg.timestamp,
      );
      if (it) done.push(it);
    } else if (msg.role === "toolResult") {
      const id = str(msg.toolCallId);
      if (id === undefined) continue;
      resulted.add(id);
      const known = calls.get(id);
      let tool = known?.tool ?? str(msg.toolName) ?? "unknown";
      let args = known?.args;
      let via: string | undefined;
      if (tool === TOOL_SEARCH_CALL) {
        if (hadInner.has(id)) continue;
        const inner = innerOf(args);
        if (inner !== undefined) {
          tool = inner.tool;
          args = inner.args;
          via = TOOL_SEARCH_CALL;
        }
      }
      const it = item(
        known?.runId ?? runId,
        id,
        {
          tool,
          args,
          status: toolStatusOf(msg.isError, msg.details, msg.content),
          ...(via ? { via } : {}),
        },
        meta,
        msg.timestamp,
      );
      if (it) done.push(it);
    }
  }
  const open: ToolCallItem[] = [];
  for (const [id, c] of calls) {
    if (resulted.has(id)) continue;
    const it = item(
      c.runId,
      id,
      { tool: c.tool, args: c.args, status: "unknown" },
      undefined,
      undefined,
    );
    if (it) open.push(it);
  }
  return { done, open };
}
