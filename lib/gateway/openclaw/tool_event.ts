/**
 * The one mapping from an OpenClaw tool call to a rule event, used by the live watcher and by
 * recordings alike. The arguments are hashed here; the event keeps them for classification
 * only.
 * @module
 */
import { boundedId, type EventSource, type ToolCallEvent } from "../../rules/mod.ts";
import { canonicalJson, sha256Hex } from "../../util/mod.ts";
import { agentEventFields } from "./turn_event.ts";
import type { ToolCallItem } from "./tool_calls.ts";

/** The event for the call `item`, seen at `seen.at` (ms) and learnt of from `seen.source`. */
export function toolCallEvent(
  item: ToolCallItem,
  seen: { at: number; source: EventSource },
): ToolCallEvent {
  const c = item.call;
  return {
    kind: "tool_call",
    ...agentEventFields(item, seen),
    ...(c.runId !== undefined ? { run: boundedId(c.runId) } : {}),
    call: boundedId(c.callId),
    tool: boundedId(c.tool),
    args: c.args,
    argsHash: sha256Hex(canonicalJson(c.args)),
    status: c.status,
    ...(c.via !== undefined ? { via: c.via } : {}),
    ...(c.permissionMode !== undefined ? { permissionMode: c.permissionMode } : {}),
  };
}
