/**
 * The daemon and its parts: config, governance, snapshot, status, logging, permissions.
 * @module
 */
export * from "./config.ts";
export * from "./governance.ts";
export * from "./log.ts";
export * from "./permissions.ts";
export * from "./rule_set.ts";
export * from "./snapshot.ts";
export * from "./status.ts";
export * from "./v8_flags.ts";
export * from "./daemon/mod.ts";
export * from "./enforce/mod.ts";
