/**
 * Governance changes and changes made while a governed run is in progress.
 * @module
 */
export * from "./governance_change_rule.ts";
