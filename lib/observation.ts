/**
 * What the protocol adapters produce and the pipeline consumes.
 * @module
 */

/** Which gateway protocol a frame came from. */
export type Protocol = "legacy" | "openclaw";

/** One agent response seen in one conversation. */
export interface Observation {
  protocol: Protocol;
  /** The conversation the response belongs to; never empty. */
  conversation: string;
  /** The agent id as the gateway named it (trimmed). */
  agent: string;
}

/** Why a frame produced no observation; each is counted in status. */
export type SkipReason =
  | "not_json"
  | "not_object"
  | "other_type"
  | "missing_field"
  | "bad_type"
  | "no_conversation"
  | "too_large";

/** The outcome of decoding one frame. */
export type Decoded =
  | { kind: "observation"; observation: Observation }
  | { kind: "skip"; reason: SkipReason };
