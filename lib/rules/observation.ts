/**
 * What the protocol adapters produce and the pipeline consumes.
 * @module
 */
import { sha256Hex } from "../util/mod.ts";

/** Which gateway protocol a frame came from. */
export type Protocol = "legacy" | "openclaw";

/** One agent response seen in one conversation. */
export interface Observation {
  protocol: Protocol;
  /** The conversation the response belongs to; never empty. */
  conversation: string;
  /** The agent id as the gateway named it (trimmed). */
  agent: string;
  /** The violation id to use should this observation be one (derived from the turn). */
  id?: string;
}

/** Why a frame produced no observation; each is counted in status. */
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
  | { kind: "observation"; observation: Observation }
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
