/**
 * Acting on findings through the gateway, only when the user turns it on: the scopes asked
 * for, enforcement levels.
 * @module
 */
export * from "./level.ts";
export * from "./needs.ts";
export * from "./scopes.ts";
export * from "./prevent.ts";
export * from "./prevent_plan.ts";
