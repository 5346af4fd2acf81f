/**
 * Acting on findings through the gateway: notices to the operator.
 * @module
 */
export * from "./notice.ts";
export * from "./notifier.ts";
