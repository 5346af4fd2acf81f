/**
 * From frames to violations: decode, map the agent to a role, apply the sequence
 * rule, and count everything that was skipped. Pure: time and enforcement are given.
 * @module
 */
import type { Decoded, SkipReason } from "./observation.ts";
import type { RoleMap } from "./roles.ts";
import type { SequenceEngine } from "./sequence.ts";
import type { Violation } from "./violation.ts";

/** Frames larger than this are counted and skipped without parsing. */
export const MAX_FRAME_CHARS = 1024 * 1024;

/** Counters kept by the pipeline, shown in status. */
export interface PipelineCounters {
  frames: number;
  observations: number;
  violations: number;
  /** Observations of agents that take no part in the sequence. */
  unknownAgents: number;
  /** Observations not checked because the rule was off (broadcast). */
  notEnforced: number;
  skipped: Record<SkipReason, number>;
}

/** Whether the rule applies now, and why not. */
export interface Enforcement {
  enabled: boolean;
  reason?: string;
}

/** Turns decoded frames into violations. */
export class Pipeline {
  readonly counters: PipelineCounters = {
    frames: 0,
    observations: 0,
    violations: 0,
    unknownAgents: 0,
    notEnforced: 0,
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
  /** Set by the owner whenever governance changes. */
  enforcement: Enforcement = { enabled: true };

  /** Creates a pipeline over an engine and a role map; `newId` names each violation. */
  constructor(
    readonly engine: SequenceEngine,
    readonly roles: RoleMap,
    readonly newId: () => string = () => crypto.randomUUID(),
  ) {}

  /** Parses a text frame and handles it with `decode`. */
  handleText(
    text: string,
    now: number,
    decode: (frame: unknown) => Decoded,
  ): Violation | undefined {
    if (text.length > MAX_FRAME_CHARS) {
      this.counters.frames++;
      this.counters.skipped.too_large++;
      return undefined;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.counters.frames++;
      this.counters.skipped.not_json++;
      return undefined;
    }
    return this.handleDecoded(decode(frame), now);
  }

  /** Handles one decoded frame; returns the violation it makes, if any. */
  handleDecoded(decoded: Decoded, now: number): Violation | undefined {
    this.counters.frames++;
    if (decoded.kind === "skip") {
      this.counters.skipped[decoded.reason]++;
      return undefined;
    }
    const obs = decoded.observation;
    this.counters.observations++;
    const role = this.roles.resolve(obs.agent);
    if (role === undefined) {
      this.counters.unknownAgents++;
      return undefined;
    }
    if (!this.enforcement.enabled) {
      this.counters.notEnforced++;
      return undefined;
    }
    const v = this.engine.observe(obs.conversation, role, now);
    if (v === undefined) return undefined;
    this.counters.violations++;
    return {
      id: obs.id ?? this.newId(),
      at: now,
      protocol: obs.protocol,
      conversation: obs.conversation,
      agent: obs.agent,
      role,
      expected: v.expected,
      sequence: this.engine.sequence,
    };
  }
}
