/**
 * Decoding recorded frames of either protocol, one JSON frame per line: legacy
 * `session_update` frames, and OpenClaw event frames (each agent turn counted once,
 * however many events announce it, as `run` counts them). Pure.
 * @module
 */
import { decodeLegacyFrame } from "./legacy.ts";
import { boundedId, type Decoded } from "../rules/mod.ts";
import { type ConversationFrom, type EventFrame, turnFromEvent } from "./openclaw/protocol.ts";
import { TurnTracker } from "./openclaw/turn_tracker.ts";

/** Decodes the frames of one recording, in order. */
export class RecordingDecoder {
  readonly #turns = new TurnTracker();

  /** `conversationFrom` names OpenClaw conversations as the config says. */
  constructor(readonly conversationFrom: ConversationFrom = "rest") {}

  /** Decodes one parsed frame, choosing the protocol by its shape. */
  decode(frame: unknown): Decoded {
    const f = frame as Record<string, unknown> | null;
    if (typeof f === "object" && f !== null && !Array.isArray(f)) {
      if (f.type === "event" && typeof f.event === "string") {
        return this.#event(f as unknown as EventFrame);
      }
      if (f.type === "res" || f.type === "req") return { kind: "skip", reason: "other_type" };
    }
    return decodeLegacyFrame(frame);
  }

  #event(frame: EventFrame): Decoded {
    const t = turnFromEvent(frame, this.conversationFrom);
    if (t === "not_a_turn") return { kind: "skip", reason: "other_type" };
    if (typeof t !== "object") return { kind: "skip", reason: t };
    const fresh = this.#turns.isNew(t);
    this.#turns.record(t);
    if (!fresh) return { kind: "skip", reason: "duplicate" };
    return {
      kind: "observation",
      observation: {
        protocol: "openclaw",
        conversation: boundedId(t.conversation),
        agent: boundedId(t.agentId),
      },
    };
  }
}
