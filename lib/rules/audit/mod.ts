/**
 * Audit before response: each governed agent's own ledger entry before its answer.
 * @module
 */
export * from "./audit_rule.ts";
