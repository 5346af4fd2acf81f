/**
 * Events: what the sources (the gateway link, recordings) tell the rules. Each kind is one
 * thing that happened; a rule says which kinds it takes.
 * @module
 */
import { sha256Hex } from "../util/mod.ts";
import type { GovernanceFields } from "./governance.ts";
import type { GatewayToolPolicy } from "./governance_drift/tool_policy.ts";

/** Which gateway protocol an event came from. */
export type Protocol = "legacy" | "openclaw";

/** How the coordinator learnt of an event. */
export type EventSource = "live" | "catch-up" | "replay";

/** What every event about an agent in a conversation has. */
export interface AgentEventFields {
  /** The gateway protocol it came over. */
  protocol: Protocol;
  /** The conversation it belongs to; never empty. */
  conversation: string;
  /** The agent id as the gateway named it (trimmed, bounded). */
  agent: string;
  /** When the coordinator saw it, ms since the epoch. */
  at: number;
  /**
   * The event's identity, where it has one (an OpenClaw turn, call or run, a line of a
   * recording): a finding it causes derives its id from it, so the same thing seen twice is
   * written once.
   */
  id?: string;
  /** The OpenClaw session key, when there is one. */
  session?: string;
  /** Live, caught up after a reconnect, or replayed from a recording. */
  source: EventSource;
}

/** An agent answered in a conversation. */
export interface TurnEvent extends AgentEventFields {
  /** Always `"turn"`. */
  kind: "turn";
  /**
   * The answer's text where the gateway shows it (OpenClaw), for the drift rule only: kept in
   * memory, never written to the ledger, the log, status or the snapshot.
   */
  text?: string;
  /**
   * The OpenClaw run the answer belongs to, when it has one: the run's final answer is also
   * a `run` event (`answered`), with the final text.
   */
  run?: string;
  /**
   * Set by enforcement when its run was judged out of turn at its start (and aborted, or an
   * abort tried): the sequence rule leaves the answer, which has its finding already and does
   * not count in the order.
   */
  judgedAtStart?: true;
}

/**
 * What became of a tool call: it ran (and succeeded or failed), the gateway blocked it or
 * had no such tool, or its end was not seen.
 */
export type ToolStatus = "executed" | "failed" | "blocked" | "not_found" | "unknown";

/** An agent called a tool (reported once, when its result is known). */
export interface ToolCallEvent extends AgentEventFields {
  /** Always `"tool_call"`. */
  kind: "tool_call";
  /** The run it was made in, when known. */
  run?: string;
  /** The tool call's id as the gateway gave it (bounded). */
  call: string;
  /** The tool's name (bounded); for a Tool Search call, the inner tool's. */
  tool: string;
  /**
   * The arguments, for classification only: they never reach the ledger, the log or status
   * (see {@link ToolCallEvent.argsHash}). `undefined` when they were not seen.
   */
  args: unknown;
  /** SHA-256 (hex) of the canonical JSON of the arguments. */
  argsHash: string;
  /** What became of the call. */
  status: ToolStatus;
  /** Set when the call was made through Tool Search: the outer tool's name (`tool_call`). */
  via?: string;
  /** The session's OpenClaw permission mode when known (`null` in OpenClaw = default). */
  permissionMode?: string;
}

/** An agent run began, or gave its final answer (OpenClaw). */
export interface RunEvent extends AgentEventFields {
  /** Always `"run"`. */
  kind: "run";
  /** The run id (bounded). */
  run: string;
  /** It began, it gave its final answer, or it ended without one (aborted, failed). */
  phase: "start" | "answered" | "ended";
  /** When the gateway recorded it, ms since the epoch (the gateway's clock). */
  recordedAt: number;
  /** The final answer's text (`answered`), for the drift rule only: kept in memory, never written. */
  text?: string;
  /** Set when it `ended` aborted (lifecycle end cancelled or aborted, chat state aborted). */
  aborted?: true;
}

/** A line another writer (an agent's `audit_stub.py log`, another MO§ES tool) appended to the ledger. */
export interface LedgerEntryEvent {
  /** Always `"ledger_entry"`. */
  kind: "ledger_entry";
  /** The entry's `agent` (bounded). */
  agent: string;
  /** The entry's `action` (bounded). */
  action: string;
  /** The entry's `timestamp`, ms since the epoch (the writer's clock). */
  recordedAt: number;
  /** When the coordinator read it, ms since the epoch. */
  at: number;
  /** Read as it landed, or read back at start. */
  source: EventSource;
  /** The entry's `hash`, where it has one. */
  id?: string;
}

/**
 * The governance in `governance/state.json` as read: at start, and after each change. A rule
 * that follows changes compares it with the one before.
 */
export interface GovernanceEvent {
  /** Always `"governance"`. */
  kind: "governance";
  /** The governance read. */
  to: GovernanceFields;
  /** When the coordinator saw the change, ms since the epoch. */
  at: number;
  /** Read after a change (`live`), or at start (`catch-up`). */
  source: EventSource;
  /** The read's identity (e.g. from the file's content and time): a change found twice is one. */
  id?: string;
}

/**
 * The gateway's tool policy as read (OpenClaw `config.get`): at each connect, and after each
 * change the gateway announces. Only the tool policy: never the rest of the config.
 */
export interface ToolPolicyEvent {
  /** Always `"tool_policy"`. */
  kind: "tool_policy";
  /** The policy read. */
  policy: GatewayToolPolicy;
  /** SHA-256 (hex) of the policy's canonical JSON: the same policy read twice has the same. */
  hash: string;
  /** When the coordinator read it, ms since the epoch. */
  at: number;
  /** Read at connect (`catch-up`) or after a change (`live`). */
  source: EventSource;
  /** The read's identity, where it has one (a recording's line). */
  id?: string;
}

/** Every event a rule can take. */
export type RuleEvent =
  | TurnEvent
  | ToolCallEvent
  | RunEvent
  | LedgerEntryEvent
  | GovernanceEvent
  | ToolPolicyEvent;

/** The kinds of event. */
export type EventKind = RuleEvent["kind"];

/** Why a frame gave no event; each is counted in status. */
export type SkipReason =
  | "not_json"
  | "not_object"
  | "other_type"
  | "missing_field"
  | "bad_type"
  | "no_conversation"
  | "too_large"
  | "duplicate";

/** The outcome of decoding one frame. */
export type Decoded =
  | { kind: "event"; event: RuleEvent; more?: RuleEvent[] }
  | { kind: "skip"; reason: SkipReason };

/** Longest id kept as it is; longer ones are shortened (see {@link boundedId}). */
export const MAX_ID_CHARS = 256;

/**
 * Makes an id from the gateway safe to keep and to write: lone surrogates (which
 * Python cannot hash) become U+FFFD, and an id over {@link MAX_ID_CHARS} characters keeps
 * its start and a digest of the whole, so memory stays bounded and distinct ids stay distinct.
 */
export function boundedId(id: string): string {
  const wellFormed = id.toWellFormed();
  if (wellFormed.length <= MAX_ID_CHARS) return wellFormed;
  return `${wellFormed.slice(0, 200).toWellFormed()}…sha256:${sha256Hex(wellFormed).slice(0, 32)}`;
}
