/**
 * The OpenClaw Gateway protocol: connection, device identity, token, watching sessions.
 * @module
 */
export * from "./connection.ts";
export * from "./device_identity.ts";
export * from "./protocol.ts";
export * from "./run_events.ts";
export * from "./token.ts";
export * from "./tool_calls.ts";
export * from "./tool_event.ts";
export * from "./turn_event.ts";
export * from "./turn_tracker.ts";
export * from "./watch.ts";
export * from "./tool_policy_read.ts";
