/**
 * Governance as the rules see it: MO§ES's mode, posture and role from state.json, and
 * whether broadcast mode is on. An input every rule reads; parsing the file is the service's.
 * @module
 */

/** The governance fields copied from state.json into every ledger entry. */
export interface GovernanceFields {
  /** MO§ES's mode, as state.json has it (any JSON value). */
  mode: unknown;
  /** The posture, as state.json has it. */
  posture: unknown;
  /** The role, as state.json has it. */
  role: unknown;
  /** The session hash, as state.json has it (null by default). */
  session_hash: unknown;
}

/** The governance in force. */
export interface Governance {
  /** Copied into every ledger entry. */
  fields: GovernanceFields;
  /** Broadcast mode: every agent may answer; the sequence rule (only) is off. */
  broadcast: boolean;
  /** Why, when broadcast is on. */
  reason?: string;
}

/** MO§ES's own defaults for a missing state.json. */
export const DEFAULT_GOVERNANCE: Readonly<Governance> = Object.freeze({
  fields: Object.freeze({
    mode: "high-integrity",
    posture: "defense",
    role: "primary",
    session_hash: null,
  }),
  broadcast: false,
});
