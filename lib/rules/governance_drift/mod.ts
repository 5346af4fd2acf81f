/**
 * Governance drift: the gateway's tool policy against the posture and roles in force.
 * @module
 */
export * from "./governance_drift_rule.ts";
export * from "./tool_policy.ts";
