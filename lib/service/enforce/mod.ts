/**
 * Acting on findings through the gateway, only when the user turns it on: the scopes asked
 * for, enforcement levels, aborting out-of-turn runs, notices to the operator.
 * @module
 */
export * from "./abort.ts";
export * from "./level.ts";
export * from "./needs.ts";
export * from "./notice.ts";
export * from "./notifier.ts";
export * from "./scopes.ts";
export * from "./prevent.ts";
export * from "./prevent_plan.ts";
