/**
 * Enforcement levels (config `enforce`) and the scopes each asks the gateway for.
 * @module
 */
import { ADMIN_SCOPE, type ScopeNeed, WRITE_SCOPE } from "./scopes.ts";

/** How far the coordinator acts: record only, have the gateway refuse, or also abort runs. */
export type EnforceLevel = "off" | "prevent" | "abort";

/** Every level, weakest first; each does what the ones before it do. */
export const ENFORCE_LEVELS: readonly EnforceLevel[] = ["off", "prevent", "abort"];

/** The feature names status and the log use. */
export const PREVENT = "enforce prevent";
/** The feature name of aborting out-of-turn runs. */
export const ABORT = "enforce abort";

/** The scopes a level needs beyond reading, feature by feature. */
export function enforceNeeds(level: EnforceLevel): ScopeNeed[] {
  const needs: ScopeNeed[] = [];
  if (level === "prevent" || level === "abort") {
    // sessions.patch with permissionMode read-only.
    needs.push({ feature: PREVENT, scopes: [WRITE_SCOPE] });
  }
  // chat.abort of a run another client started: only its starter or an admin.
  if (level === "abort") needs.push({ feature: ABORT, scopes: [ADMIN_SCOPE] });
  return needs;
}

/** Whether `v` names a level. */
export function isEnforceLevel(v: unknown): v is EnforceLevel {
  return typeof v === "string" && (ENFORCE_LEVELS as readonly string[]).includes(v);
}
