/**
 * The sequence rule as a {@link Rule}: agents answer in the order of their roles
 * (primary, secondary, observer by default), per conversation. The order itself is kept
 * off the V8 heap by {@link SequenceEngine}; this module maps agents to roles, respects
 * broadcast mode, and makes the findings.
 * @module
 */
import type { Protocol, RuleEvent } from "./event.ts";
import type { Finding } from "./finding.ts";
import type { Governance } from "./governance.ts";
import type { Rule, RuleContext, RuleStats } from "./rule.ts";
import type { RoleMap } from "./roles.ts";
import type { ConversationSnapshot, SequenceEngine } from "./sequence.ts";

/** The id of the sequence rule. */
export const SEQUENCE_RULE = "sequence";
/** The ledger action of its findings. */
export const SEQUENCE_ACTION = "sequence_violation";
/** The ledger key of its structured object. */
export const SEQUENCE_KEY = "violation";

/** The structured object of a sequence finding, in the ledger under `violation`. */
export interface Violation {
  /** The finding's id. */
  id: string;
  /** The conversation it happened in. */
  conversation: string;
  /** The agent that answered, as the gateway named it. */
  agent: string;
  /** That agent's role. */
  role: string;
  /** The role whose turn it was. */
  expected: string;
  /** The sequence in force. */
  sequence: readonly string[];
  /** The gateway protocol the turn came over. */
  protocol: Protocol;
}

/** A finding of the sequence rule. */
export type SequenceFinding = Finding<Violation>;

/** The one-line human description of a violation. */
export function violationDetail(v: Violation): string {
  const who = v.agent.toLowerCase() === v.role ? v.role : `${v.agent} (${v.role})`;
  return `Sequence violation in conversation ${v.conversation}: ${who} responded, expected ${v.expected}`;
}

/**
 * Makes the finding for a violation seen at `at`. Its object's fields are put in the ledger's
 * order (as audit_stub writes them), whatever order `v` has them in.
 */
export function sequenceFinding(v: Violation, at: number): SequenceFinding {
  return findingOf({
    id: v.id,
    conversation: v.conversation,
    agent: v.agent,
    role: v.role,
    expected: v.expected,
    sequence: v.sequence,
    protocol: v.protocol,
  }, at);
}

// The finding around `data`, whose fields are already in the ledger's order.
function findingOf(data: Violation, at: number): SequenceFinding {
  return {
    id: data.id,
    rule: SEQUENCE_RULE,
    action: SEQUENCE_ACTION,
    at,
    detail: violationDetail(data),
    // Nothing is blocked: the coordinator observes and records.
    outcome: "logged",
    conversation: data.conversation,
    agent: data.agent,
    key: SEQUENCE_KEY,
    data,
  };
}

/** Whether `f` is a sequence finding whose object has exactly the rule's fields and types. */
export function isSequenceFinding(f: Finding): f is SequenceFinding {
  if (f.rule !== SEQUENCE_RULE || f.key !== SEQUENCE_KEY) return false;
  const v = f.data as Partial<Violation>;
  if (
    typeof v.id !== "string" || typeof v.conversation !== "string" ||
    typeof v.agent !== "string" || typeof v.role !== "string" ||
    typeof v.expected !== "string" || typeof v.protocol !== "string" ||
    !Array.isArray(v.sequence)
  ) return false;
  for (const s of v.sequence) if (typeof s !== "string") return false;
  let keys = 0;
  for (const _ in v) keys++;
  return keys === 7;
}

/** The sequence rule's counters. */
export interface SequenceRuleStats extends RuleStats {
  /** Turns of agents that take no part in the sequence. */
  unknownAgents: number;
  /** Turns not checked because broadcast mode was on. */
  notEnforced: number;
  /** Conversations tracked now, and forgotten (idle, or over the cap). */
  tracked: number;
  /** Conversations forgotten after their idle time, since start. */
  evictedIdle: number;
  /** Conversations forgotten to stay under the cap, since start. */
  evictedOverCap: number;
}

/** The sequence rule over an engine and a role map. */
export class SequenceRule implements Rule {
  /** Always {@link SEQUENCE_RULE}. */
  readonly id: typeof SEQUENCE_RULE = SEQUENCE_RULE;
  readonly accepts = ["turn"] as const;
  readonly actions = [SEQUENCE_ACTION];
  readonly #engine: SequenceEngine;
  readonly #roles: RoleMap;
  #unknownAgents = 0;
  #notEnforced = 0;

  /** Judges turns against `engine`'s sequence, with agents mapped to roles by `roles`. */
  constructor(engine: SequenceEngine, roles: RoleMap) {
    this.#engine = engine;
    this.#roles = roles;
  }

  /** The engine (its conversations are streamed into the snapshot). */
  get engine(): SequenceEngine {
    return this.#engine;
  }

  evaluate(event: RuleEvent, ctx: RuleContext): SequenceFinding | undefined {
    if (event.kind !== "turn" || event.judgedAtStart === true) return undefined;
    const role = this.#roles.resolve(event.agent);
    if (role === undefined) {
      this.#unknownAgents++;
      return undefined;
    }
    if (ctx.governance.broadcast) {
      this.#notEnforced++;
      return undefined;
    }
    const v = this.#engine.observe(event.conversation, role, event.at);
    if (v === undefined) return undefined;
    // Built in the ledger's order: no copy on the hot path.
    return findingOf({
      id: event.id ?? ctx.newId(),
      conversation: event.conversation,
      agent: event.agent,
      role,
      expected: v.expected,
      sequence: this.#engine.sequence,
      protocol: event.protocol,
    }, event.at);
  }

  /**
   * Would `agent` answering now in `conversation` be out of turn? The role and the role
   * expected when it would, else undefined (in turn, not in the sequence, broadcast mode).
   * Read only: asked at a run's start, before its answer is judged.
   */
  outOfTurn(
    conversation: string,
    agent: string,
    at: { governance: Governance; now: number },
  ): { role: string; expected: string } | undefined {
    const role = this.#roles.resolve(agent);
    if (role === undefined || at.governance.broadcast) return undefined;
    const v = this.#engine.peek(conversation, role, at.now);
    return v === undefined ? undefined : { role, expected: v.expected };
  }

  stats(): SequenceRuleStats {
    const s = this.#engine.stats();
    return {
      unknownAgents: this.#unknownAgents,
      notEnforced: this.#notEnforced,
      tracked: s.tracked,
      evictedIdle: s.evictedIdle,
      evictedOverCap: s.evictedOverCap,
    };
  }

  expire(now: number): void {
    this.#engine.expire(now);
  }

  /** `{"sequence":[...],"conversations":[[id,last,seenAt],...]}`, least recently active first. */
  saveState(write: (json: string) => void): void {
    write(`{"sequence":${JSON.stringify(this.#engine.sequence)},"conversations":[`);
    let first = true;
    this.#engine.forEachConversation((c, last, seenAt) => {
      write(`${first ? "" : ","}[${JSON.stringify(c)},${last},${seenAt}]`);
      first = false;
    });
    write("]}");
  }

  restoreState(state: unknown, now: number): string | undefined {
    const s = state as { sequence?: unknown; conversations?: unknown } | null;
    if (typeof s !== "object" || s === null || Array.isArray(s)) {
      throw new Error("not an object");
    }
    if (!Array.isArray(s.sequence) || !s.sequence.every((x) => typeof x === "string")) {
      throw new Error('"sequence" is not a list of role names');
    }
    if (!Array.isArray(s.conversations)) throw new Error('"conversations" must be a list');
    const conversations: ConversationSnapshot[] = [];
    for (const [i, c] of (s.conversations as unknown[]).entries()) {
      if (
        !Array.isArray(c) || typeof c[0] !== "string" || typeof c[1] !== "number" ||
        typeof c[2] !== "number"
      ) {
        throw new Error(`conversation entry ${i} is malformed`);
      }
      conversations.push({ conversation: c[0], last: c[1], seenAt: c[2] });
    }
    if (s.sequence.join("\u0000") !== this.#engine.sequence.join("\u0000")) {
      return "the sequence changed since the snapshot; conversation state starts afresh";
    }
    this.#engine.restore(conversations, now);
    return undefined;
  }
}
