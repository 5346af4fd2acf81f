/**
 * From frames to events: the size limit, JSON parsing and the protocol's decoder, with
 * every frame counted and every skipped one counted under its reason. Pure.
 * @module
 */
import type { Decoded, RuleEvent, SkipReason } from "../rules/mod.ts";
import { decodeLegacyFrame } from "./legacy.ts";

/** Frames larger than this are counted and skipped without parsing. */
export const MAX_FRAME_CHARS = 1024 * 1024;

/** Decodes one parsed frame seen at `at` (ms since the epoch). */
export type FrameDecoder = (frame: unknown, at: number) => Decoded;

/** What the intake counted, shown in status. */
export interface IntakeCounters {
  /** Frames (legacy) or turns (OpenClaw) taken in. */
  frames: number;
  /** Events they gave. */
  events: number;
  /** Frames that gave no event, by reason. */
  skipped: Record<SkipReason, number>;
}

/** A fresh set of counters. */
export function newIntakeCounters(): IntakeCounters {
  return {
    frames: 0,
    events: 0,
    skipped: {
      not_json: 0,
      not_object: 0,
      other_type: 0,
      missing_field: 0,
      bad_type: 0,
      no_conversation: 0,
      too_large: 0,
      duplicate: 0,
    },
  };
}

/** How an intake is set up. */
export interface IntakeOptions {
  /** Receives every event, in order. */
  onEvent: (event: RuleEvent) => void;
  /** Decodes text frames (default: the legacy protocol's decoder). */
  decode?: FrameDecoder;
}

/** Counts frames and hands each event on. */
export class FrameIntake {
  /** What was counted so far; read live by status. */
  readonly counters: IntakeCounters = newIntakeCounters();
  readonly #onEvent: (event: RuleEvent) => void;
  readonly #decode: FrameDecoder;

  /** Creates an intake. */
  constructor(opts: IntakeOptions) {
    this.#onEvent = opts.onEvent;
    this.#decode = opts.decode ?? decodeLegacyFrame;
  }

  /** Parses a text frame seen at `at` and decodes it; returns whether it gave an event. */
  handleText(text: string, at: number): boolean {
    if (text.length > MAX_FRAME_CHARS) return this.#skip("too_large");
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return this.#skip("not_json");
    }
    return this.handleDecoded(this.#decode(frame, at));
  }

  /** Takes one decoded frame; returns whether it gave an event. */
  handleDecoded(decoded: Decoded): boolean {
    if (decoded.kind === "skip") return this.#skip(decoded.reason);
    this.counters.frames++;
    this.counters.events++;
    this.#onEvent(decoded.event);
    for (const e of decoded.more ?? []) {
      this.counters.events++;
      this.#onEvent(e);
    }
    return true;
  }

  #skip(reason: SkipReason): false {
    this.counters.frames++;
    this.counters.skipped[reason]++;
    return false;
  }
}
