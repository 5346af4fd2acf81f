/**
 * Rules: events in, findings out. Pure logic; depends on util only.
 * @module
 */
export * from "./engine.ts";
export * from "./event.ts";
export * from "./finding.ts";
export * from "./governance.ts";
export * from "./open_runs.ts";
export * from "./roles.ts";
export * from "./rule.ts";
export * from "./sequence.ts";
export * from "./sequence_rule.ts";
export * from "./tools/mod.ts";
export * from "./audit/mod.ts";
export * from "./governance_change/mod.ts";
export * from "./drift/mod.ts";
export * from "./governance_drift/mod.ts";
