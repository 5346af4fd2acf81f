/**
 * Sequence violations as records and as MO§ES ledger entries. Pure.
 * @module
 */
import type { TornTailCut } from "./ledger.ts";
import type { Protocol } from "./observation.ts";

/** A detected violation, before it is written. */
export interface Violation {
  /** A unique id, so a violation written just before a crash is not written again. */
  id: string;
  /** When it was seen, ms since the epoch. */
  at: number;
  protocol: Protocol;
  conversation: string;
  agent: string;
  role: string;
  expected: string;
  sequence: readonly string[];
}

/** The governance fields copied from state.json into every entry. */
export interface GovernanceFields {
  mode: unknown;
  posture: unknown;
  role: unknown;
  session_hash: unknown;
}

/** A ledger entry before `previous_hash` and `hash` are added. */
export type EntryBody = Record<string, unknown>;

/** The component name this writer puts in the ledger. */
export const COMPONENT = "moses-coordinator";

// Violations come in bursts within the same second: its date and time are formatted once.
let formattedSecond = NaN;
let secondPrefix = "";

/** Formats ms since the epoch as Python's `datetime.isoformat()` in UTC, with microseconds. */
export function isoTimestamp(ms: number): string {
  const totalMicros = Math.round(ms * 1000);
  const second = Math.floor(totalMicros / 1_000_000);
  if (second !== formattedSecond) {
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20); // 2026-11-21T12:02:18.
    formattedSecond = second;
  }
  return `${secondPrefix}${String(totalMicros - second * 1_000_000).padStart(6, "0")}+00:00`;
}

/** The one-line human description of a violation. */
export function violationDetail(v: Violation): string {
  const who = v.agent.toLowerCase() === v.role ? v.role : `${v.agent} (${v.role})`;
  return `Sequence violation in conversation ${v.conversation}: ${who} responded, expected ${v.expected}`;
}

/** The `ledger_recovered` entry: a torn last line (an interrupted write) was cut and kept aside. */
export function recoveryEntry(cut: TornTailCut, gov: GovernanceFields, at: number): EntryBody {
  return {
    timestamp: isoTimestamp(at),
    agent: "coordinator",
    component: COMPONENT,
    action: "ledger_recovered",
    detail: `Cut a torn last line (an interrupted write) of ${cut.bytes} bytes at byte ` +
      `${cut.offset}; the bytes are kept in ${cut.keptIn}`,
    outcome: "recovered",
    mode: gov.mode,
    posture: gov.posture,
    role: gov.role,
    session_hash: gov.session_hash,
    recovery: {
      offset: cut.offset,
      bytes: cut.bytes,
      sha256: cut.sha256,
      kept_in: cut.keptIn,
    },
  };
}

/**
 * The ledger entry for a violation, keys in audit_stub's order, without
 * `previous_hash` and `hash` (the ledger adds those under its lock).
 */
export function violationEntry(v: Violation, gov: GovernanceFields): EntryBody {
  return {
    timestamp: isoTimestamp(v.at),
    agent: "coordinator",
    component: COMPONENT,
    action: "sequence_violation",
    detail: violationDetail(v),
    // Nothing is blocked: the coordinator observes and records.
    outcome: "logged",
    mode: gov.mode,
    posture: gov.posture,
    role: gov.role,
    session_hash: gov.session_hash,
    violation: {
      id: v.id,
      conversation: v.conversation,
      agent: v.agent,
      role: v.role,
      expected: v.expected,
      sequence: [...v.sequence],
      protocol: v.protocol,
    },
  };
}
