/**
 * The net grant a binary was built with, when it is not deno.json's (`deno task compile
 * --port N`). A module of its own, importing nothing, so that the entry of such a build sets
 * it before the dispatcher runs at no start-up cost.
 * @module
 */

let override: string[] | undefined;

/**
 * Replaces the net grant of deno.json's own set, for a binary built with another one: what
 * `permissions` shows, what `run` checks and connects to by default.
 */
export function overrideNetGrant(net: readonly string[]): void {
  override = [...net];
}

/** The net grant set by {@link overrideNetGrant}, if any. */
export function netGrantOverride(): string[] | undefined {
  return override === undefined ? undefined : [...override];
}
