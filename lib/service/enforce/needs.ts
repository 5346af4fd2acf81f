/**
 * Every scope the config asks the gateway for, and why: what `permissions` shows and what the
 * daemon asks for in `connect`.
 * @module
 */
import type { NotifyConfig } from "../config.ts";
import { type EnforceLevel, enforceNeeds } from "./level.ts";
import { notifyScopes } from "./notice.ts";
import { type ScopeNeed, scopesOf } from "./scopes.ts";

/** The parts of the config that ask for scopes. */
export interface ScopeConfig {
  /** The enforcement level. */
  enforce: EnforceLevel;
  /** Notices to the operator. */
  notify: NotifyConfig;
}

/** The needs beyond reading of what the config turned on. */
export function scopeNeeds(config: ScopeConfig): ScopeNeed[] {
  const notify = notifyScopes(config);
  return [
    ...enforceNeeds(config.enforce),
    ...(notify.length > 0 ? [{ feature: `notify ${config.notify.channel}`, scopes: notify }] : []),
  ];
}

/** Each scope asked for and the features that ask for it, `operator.read` first. */
export function scopesAsked(config: ScopeConfig): { scope: string; for: string[] }[] {
  return [...scopesOf(scopeNeeds(config))].map(([scope, why]) => ({ scope, for: why }));
}
