/**
 * Every scope the config asks the gateway for, and why: what `permissions` shows and what the
 * daemon asks for in `connect`.
 * @module
 */
import { type EnforceLevel, enforceNeeds } from "./level.ts";
import { READ_SCOPE, type ScopeNeed } from "./scopes.ts";

/** The parts of the config that ask for scopes. */
export interface ScopeConfig {
  /** The enforcement level. */
  enforce: EnforceLevel;
}

/** The needs beyond reading of what the config turned on. */
export function scopeNeeds(config: ScopeConfig): ScopeNeed[] {
  return [...enforceNeeds(config.enforce)];
}

/** Each scope asked for and the features that ask for it, `operator.read` first. */
export function scopesAsked(config: ScopeConfig): { scope: string; for: string[] }[] {
  const out = new Map<string, string[]>([[READ_SCOPE, ["watching (always)"]]]);
  for (const n of scopeNeeds(config)) {
    for (const s of n.scopes) out.set(s, [...(out.get(s) ?? []), n.feature]);
  }
  return [...out].map(([scope, why]) => ({ scope, for: why }));
}
