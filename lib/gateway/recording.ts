/**
 * Decoding recorded frames of either protocol, one JSON frame per line: legacy
 * `session_update` frames, and OpenClaw event frames (each agent turn counted once,
 * however many events announce it, as `run` counts them, and given the same id). Pure.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { uuidShaped } from "../util/mod.ts";
import { decodeLegacyFrame } from "./legacy.ts";
import type { Decoded } from "../rules/mod.ts";
import {
  type ConversationFrom,
  type EventFrame,
  type Turn,
  turnFromEvent,
} from "./openclaw/protocol.ts";
import { runEvent, runItemFromEvent } from "./openclaw/run_events.ts";
import { TurnTracker } from "./openclaw/turn_tracker.ts";
import { turnEvent } from "./openclaw/turn_event.ts";
import { ToolCallAssembler } from "./openclaw/tool_calls.ts";
import { toolCallEvent } from "./openclaw/tool_event.ts";

/** Decodes the frames of one recording, in order. */
export class RecordingDecoder {
  readonly #turns = new TurnTracker();
  readonly #tools: ToolCallAssembler;

  /** `conversationFrom` names OpenClaw conversations as the config says. */
  constructor(readonly conversationFrom: ConversationFrom = "rest") {
    this.#tools = new ToolCallAssembler(conversationFrom);
  }

  /** Decodes one parsed frame seen at `at`, choosing the protocol by its shape. */
  decode(frame: unknown, at: number): Decoded {
    const f = frame as Record<string, unknown> | null;
    if (typeof f === "object" && f !== null && !Array.isArray(f)) {
      if (f.type === "event" && typeof f.event === "string") {
        return this.#event(f as unknown as EventFrame, at);
      }
      if (f.type === "res" || f.type === "req") return { kind: "skip", reason: "other_type" };
    }
    const d = decodeLegacyFrame(frame, at);
    if (d.kind === "event") d.event.source = "replay";
    return d;
  }

  #event(frame: EventFrame, at: number): Decoded {
    if (frame.event === "session.tool") {
      const item = this.#tools.onToolEvent(frame.payload);
      if (item === "bad") return { kind: "skip", reason: "bad_type" };
      if (item === "pending") return { kind: "skip", reason: "other_type" };
      const fresh = this.#turns.isNew(item);
      this.#turns.record(item);
      if (!fresh) return { kind: "skip", reason: "duplicate" };
      return { kind: "event", event: toolCallEvent(item, { at, source: "replay" }) };
    }
    if (frame.event === "session.message") this.#tools.noteMessage(frame.payload);
    // A run's start or final answer, beside (or instead of) a turn.
    const run = runItemFromEvent(frame, this.conversationFrom);
    const runEvents = run !== undefined && this.#fresh(run)
      ? [runEvent(run, { at, source: "replay" })]
      : [];
    const t = frame.event === "agent" ? "not_a_turn" : turnFromEvent(frame, this.conversationFrom);
    if (typeof t !== "object" || !this.#fresh(t)) {
      const [first, ...more] = runEvents;
      if (first !== undefined) {
        return { kind: "event", event: first, ...(more.length ? { more } : {}) };
      }
      if (t === "not_a_turn") return { kind: "skip", reason: "other_type" };
      return { kind: "skip", reason: typeof t === "object" ? "duplicate" : t };
    }
    const event = turnEvent(t, { at, source: "replay" });
    return { kind: "event", event, ...(runEvents.length ? { more: runEvents } : {}) };
  }

  // Whether an item is new (each counts once); records it either way.
  #fresh(t: Turn): boolean {
    const fresh = this.#turns.isNew(t);
    this.#turns.record(t);
    return fresh;
  }
}

/**
 * Ids for the lines of a recording that have no identity of their own (legacy frames):
 * derived from the line's number and everything up to and including it, so replaying the
 * same recording again gives the same ids (and writes nothing new), and a different one does not.
 */
export class RecordingLineIds {
  readonly #prefix: Hash = createHash("sha256");
  #line = 0;

  /** The id of the next line, whose text is `text`. */
  next(text: string): string {
    this.#line++;
    this.#prefix.update(`${text}\n`);
    const h = this.#prefix.copy().update(`#${this.#line}`).digest("hex");
    return uuidShaped(h, "b");
  }
}
