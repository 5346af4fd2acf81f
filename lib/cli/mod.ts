/**
 * The command line: `run`, `status`, `verify`, `permissions`, `replay`.
 * @module
 */
export * from "./main.ts";
export * from "./replay.ts";
