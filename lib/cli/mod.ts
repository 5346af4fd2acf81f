/**
 * The command line: `run`, `status`, `verify`, `permissions`, `replay`, `log`, `report`.
 * @module
 */
export * from "./main.ts";
export * from "./replay.ts";
export * from "./health.ts";
export * from "./ledger_commands.ts";
export * from "./ledger_view.ts";
export * from "./log.ts";
export * from "./report.ts";
export * from "./time_spec.ts";
export * from "./usage.ts";
