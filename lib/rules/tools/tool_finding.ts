/**
 * The finding every tool-call rule makes: one ledger line naming the tool, its class and
 * why, a safe summary and the SHA-256 of the arguments, never the arguments. Pure.
 * @module
 */
import { sha256Hex, uuidShaped } from "../../util/mod.ts";
import type { Protocol, ToolCallEvent, ToolStatus } from "../event.ts";
import type { Finding } from "../finding.ts";
import type { RuleContext } from "../rule.ts";
import { normalise } from "../roles.ts";
import type { Classification } from "./classify.ts";
import type { ToolClass } from "./tool_class.ts";
import { type Confirmation, confirmationOf } from "./confirmation.ts";
import { summarize } from "./summary.ts";

/** The ledger key of a tool-call finding's object. */
export const TOOL_CALL_KEY = "tool_call";

/** The structured object of a tool-call finding, in the ledger under `tool_call`. */
export interface ToolCallRecord {
  /** The finding's id. */
  id: string;
  /** The conversation the call was made in. */
  conversation: string;
  /** The agent that made it. */
  agent: string;
  /** The tool (for a Tool Search call, the inner tool). */
  tool: string;
  /** `tool_call` when the call went through Tool Search. */
  via: string | null;
  /** Its class. */
  class: ToolClass;
  /** Why it has that class. */
  why: string;
  /** A path, a command's first word, a host or an action ("" when none). */
  summary: string;
  /** SHA-256 of the canonical JSON of the arguments. */
  args_sha256: string;
  /** `executed` when it ran; `attempted` when the gateway blocked it or had no such tool. */
  status: "executed" | "attempted";
  /** What the gateway reported: executed, failed, blocked, not_found, unknown. */
  result: ToolStatus;
  /** Whether an operator was seen to confirm it. */
  confirmation: Confirmation;
  /** What the rule holds against it, e.g. `posture scout`. */
  rule: string;
  /** The run it was made in, or null. */
  run: string | null;
  /** The tool call's id. */
  call: string;
  /** The gateway protocol. */
  protocol: Protocol;
}

/** A tool-call finding. */
export type ToolCallFinding = Finding<ToolCallRecord>;

/** `executed` for a call that ran (even if it failed), `attempted` for one that did not. */
export function ranOrAttempted(status: ToolStatus): "executed" | "attempted" {
  return status === "blocked" || status === "not_found" ? "attempted" : "executed";
}

// A UUID-shaped id from the event's id and the rule: each rule's finding about one call
// keeps its id when the call is found again after a restart.
function findingId(eventId: string, rule: string): string {
  const h = sha256Hex(`${eventId}\n${rule}`);
  return uuidShaped(h, "c");
}

/** What a rule says about a call it judged forbidden. */
export interface ToolVerdict {
  /** The rule's id. */
  rule: string;
  /** The ledger action, e.g. `posture_violation`. */
  action: string;
  /** What forbids it, e.g. `posture scout`. */
  forbiddenBy: string;
  /** The call's class. */
  classification: Classification;
}

/** The finding for a call a rule judged forbidden. */
export function toolFinding(
  event: ToolCallEvent,
  verdict: ToolVerdict,
  ctx: RuleContext,
): ToolCallFinding {
  const id = event.id !== undefined ? findingId(event.id, verdict.rule) : ctx.newId();
  const status = ranOrAttempted(event.status);
  const c = verdict.classification;
  const data: ToolCallRecord = {
    id,
    conversation: event.conversation,
    agent: event.agent,
    tool: event.tool,
    via: event.via ?? null,
    class: c.class,
    why: c.why,
    summary: summarize(event.tool, event.args),
    args_sha256: event.argsHash,
    status,
    result: event.status,
    confirmation: confirmationOf(event),
    rule: verdict.forbiddenBy,
    run: event.run ?? null,
    call: event.call,
    protocol: event.protocol,
  };
  return {
    id,
    rule: verdict.rule,
    action: verdict.action,
    at: event.at,
    detail: toolDetail(event, verdict, status),
    outcome: "logged",
    conversation: event.conversation,
    agent: event.agent,
    key: TOOL_CALL_KEY,
    data,
  };
}

// One readable line: who did what, its class and why, and what forbids it.
function toolDetail(
  event: ToolCallEvent,
  verdict: ToolVerdict,
  status: "executed" | "attempted",
): string {
  const c = verdict.classification;
  const verb = status === "executed" ? "ran" : "attempted";
  const via = event.via ? ` (through ${event.via})` : "";
  return `${sentence(verdict.action)} in conversation ${event.conversation}: ${event.agent} ` +
    `${verb} ${event.tool}${via}, class ${c.class} (${c.why}), which ${verdict.forbiddenBy} forbids`;
}

// "posture_violation" -> "Posture violation".
function sentence(action: string): string {
  const s = action.replaceAll("_", " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The governance value as rules compare it: a trimmed lower-case string, or "". */
export function governanceValue(v: unknown): string {
  return typeof v === "string" ? normalise(v) : "";
}
