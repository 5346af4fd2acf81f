/**
 * Rules: events in, findings out. Pure logic; depends on util only.
 * @module
 */
export * from "./observation.ts";
export * from "./pipeline.ts";
export * from "./roles.ts";
export * from "./sequence.ts";
export * from "./violation.ts";
