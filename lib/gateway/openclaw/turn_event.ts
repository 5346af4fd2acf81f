/**
 * The one mapping from an OpenClaw turn to a rule event, used by the live watcher and by
 * recordings alike, so both give a turn the same identity.
 * @module
 */
import {
  type AgentEventFields,
  boundedId,
  type EventSource,
  type TurnEvent,
} from "../../rules/mod.ts";
import { sha256Hex } from "../../util/mod.ts";
import { type Turn, turnViolationId } from "./protocol.ts";

/**
 * The fields every OpenClaw event about an item (a turn, a tool call, a run) has; its id
 * comes from the session key and `key` (the item's own key by default).
 */
export function agentEventFields(
  item: Turn,
  seen: { at: number; source: EventSource },
  key: string = item.key,
): AgentEventFields {
  return {
    protocol: "openclaw",
    conversation: boundedId(item.conversation),
    agent: boundedId(item.agentId),
    at: seen.at,
    id: turnViolationId(item.sessionKey, key, sha256Hex),
    session: item.sessionKey,
    source: seen.source,
  };
}

/** The event for `turn`, seen at `seen.at` (ms) and learnt of from `seen.source`. */
export function turnEvent(
  turn: Turn,
  seen: { at: number; source: EventSource },
): TurnEvent {
  return {
    kind: "turn",
    ...agentEventFields(turn, seen),
    ...(turn.text !== undefined ? { text: turn.text } : {}),
    ...(turn.key.startsWith("run:") ? { run: boundedId(turn.key.slice(4)) } : {}),
  };
}
