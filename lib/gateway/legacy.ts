/**
 * The seed's legacy protocol: `{"type":"subscribe","events":["session_update"]}` out,
 * `{"type":"session_update","session_id":"…","agent":"Primary"}` in. Pure decoding.
 * @module
 */
import { boundedId, type Decoded } from "../rules/mod.ts";

/** The frame the legacy client sends after connecting. */
export const LEGACY_SUBSCRIBE: string = JSON.stringify({
  type: "subscribe",
  events: ["session_update"],
});

/** Decodes an already-parsed legacy frame seen (live) at `at`. */
export function decodeLegacyFrame(frame: unknown, at: number): Decoded {
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    return { kind: "skip", reason: "not_object" };
  }
  const f = frame as Record<string, unknown>;
  if (f.type !== "session_update") return { kind: "skip", reason: "other_type" };
  const { session_id: sessionId, agent } = f;
  if (agent === undefined || agent === null) return { kind: "skip", reason: "missing_field" };
  if (typeof agent !== "string") return { kind: "skip", reason: "bad_type" };
  if (sessionId === undefined || sessionId === null) {
    return { kind: "skip", reason: "no_conversation" };
  }
  if (typeof sessionId !== "string" && typeof sessionId !== "number") {
    return { kind: "skip", reason: "bad_type" };
  }
  const conversation = boundedId(String(sessionId));
  if (conversation.trim() === "") return { kind: "skip", reason: "no_conversation" };
  const name = boundedId(agent.trim());
  if (name === "") return { kind: "skip", reason: "missing_field" };
  return {
    kind: "event",
    event: { kind: "turn", protocol: "legacy", conversation, agent: name, at, source: "live" },
  };
}
