/**
 * The one mapping from an OpenClaw turn to a rule event, used by the live watcher and by
 * recordings alike, so both give a turn the same identity.
 * @module
 */
import { boundedId, type EventSource, type TurnEvent } from "../../rules/mod.ts";
import { sha256Hex } from "../../util/mod.ts";
import { type Turn, turnViolationId } from "./protocol.ts";

/** The event for `turn`, seen at `seen.at` (ms) and learnt of from `seen.source`. */
export function turnEvent(
  turn: Turn,
  seen: { at: number; source: EventSource },
): TurnEvent {
  const { at, source } = seen;
  return {
    kind: "turn",
    protocol: "openclaw",
    conversation: boundedId(turn.conversation),
    agent: boundedId(turn.agentId),
    at,
    id: turnViolationId(turn.sessionKey, turn.key, sha256Hex),
    session: turn.sessionKey,
    source,
    ...(turn.text !== undefined ? { text: turn.text } : {}),
    ...(turn.key.startsWith("run:") ? { run: boundedId(turn.key.slice(4)) } : {}),
  };
}
