/**
 * The daemon and its parts: config, governance, snapshot, status, logging, permissions.
 * @module
 */
export * from "./config.ts";
export * from "./daemon.ts";
export * from "./exit_codes.ts";
export * from "./findings_output.ts";
export * from "./governance.ts";
export * from "./governance_source.ts";
export * from "./instance_lock.ts";
export * from "./log.ts";
export * from "./log_policy.ts";
export * from "./openclaw_source.ts";
export * from "./paths.ts";
export * from "./permissions.ts";
export * from "./preflight.ts";
export * from "./process_handlers.ts";
export * from "./rule_set.ts";
export * from "./snapshot.ts";
export * from "./state_persister.ts";
export * from "./status.ts";
export * from "./status_model.ts";
export * from "./status_writer.ts";
export * from "./v8_flags.ts";
