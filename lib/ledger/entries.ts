/**
 * MO§ES ledger entries the coordinator writes: the common fields, timestamps in Python's
 * form, the entry of any finding, and the recovery entry. Pure.
 * @module
 */
import type { Finding, GovernanceFields } from "../rules/mod.ts";

/** What cutting a torn last line removed; recorded in the `ledger_recovered` entry. */
export interface TornTailCut {
  /** Where the torn line began: the ledger's size after the cut. */
  offset: number;
  /** How many bytes were cut. */
  bytes: number;
  /** SHA-256 of the cut bytes, hex. */
  sha256: string;
  /** The file the cut bytes were copied to, beside the ledger. */
  keptIn: string;
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
 * The ledger entry for any finding, keys in audit_stub's order, without `previous_hash`
 * and `hash` (the ledger adds those under its lock): the common fields, then the rule's
 * structured object under the rule's key.
 */
export function findingEntry(f: Finding, gov: GovernanceFields): EntryBody {
  return {
    timestamp: isoTimestamp(f.at),
    agent: "coordinator",
    component: COMPONENT,
    action: f.action,
    detail: f.detail,
    outcome: f.outcome,
    mode: gov.mode,
    posture: gov.posture,
    role: gov.role,
    session_hash: gov.session_hash,
    [f.key]: f.data,
  };
}
