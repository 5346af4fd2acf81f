/**
 * Tool calls: the classes, and the posture, role and mode rules that judge calls by them.
 * @module
 */
export * from "./classify.ts";
export * from "./confirmation.ts";
export * from "./mode_rule.ts";
export * from "./posture_rule.ts";
export * from "./role_rule.ts";
export * from "./summary.ts";
export * from "./tool_class.ts";
export * from "./tool_finding.ts";
