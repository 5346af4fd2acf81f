/**
 * Findings: what a rule concluded from an event, in the form every output (the ledger, the
 * log, status) consumes without knowing the rule.
 * @module
 */

/** What was done about a finding: recorded only, or blocked by the gateway and recorded. */
export type Outcome = "logged" | "blocked_and_logged";

/** One finding of one rule. `D` is the rule's structured object. */
export interface Finding<D extends object = object> {
  /**
   * Unique; derived from the event where the event has an identity, so a finding
   * written just before a crash and found again is not written twice.
   */
  id: string;
  /** The rule that made it. */
  rule: string;
  /** The ledger `action` (e.g. `sequence_violation`). */
  action: string;
  /** When the event was seen, ms since the epoch. */
  at: number;
  /** One readable line: what happened, never an agent's text. */
  detail: string;
  /** Recorded only, or also blocked. */
  outcome: Outcome;
  /** The conversation it concerns, where there is one. */
  conversation?: string;
  /** The agent it concerns, where there is one. */
  agent?: string;
  /** The ledger key the structured object goes under (the rule's key). */
  key: string;
  /** The rule's structured object; it carries `id` too. */
  data: D;
}

/** Whether `x` has the shape of a {@link Finding} (for state read back from disk). */
export function isFinding(x: unknown): x is Finding {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const f = x as Record<string, unknown>;
  return typeof f.id === "string" && typeof f.rule === "string" && f.rule !== "" &&
    typeof f.action === "string" && f.action !== "" && typeof f.at === "number" &&
    Number.isFinite(f.at) && typeof f.detail === "string" &&
    (f.outcome === "logged" || f.outcome === "blocked_and_logged") &&
    (f.conversation === undefined || typeof f.conversation === "string") &&
    (f.agent === undefined || typeof f.agent === "string") &&
    typeof f.key === "string" && f.key !== "" && RESERVED_KEYS.has(f.key) === false &&
    typeof f.data === "object" && f.data !== null && !Array.isArray(f.data);
}

/** The fields every MO§ES ledger entry has, in audit_stub's order (before the hashes). */
export const ENTRY_KEYS: readonly string[] = [
  "timestamp",
  "agent",
  "component",
  "action",
  "detail",
  "outcome",
  "mode",
  "posture",
  "role",
  "session_hash",
];

/** Ledger fields a rule's key must not take. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  ...ENTRY_KEYS,
  "previous_hash",
  "hash",
]);
