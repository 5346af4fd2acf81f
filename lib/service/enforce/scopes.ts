/**
 * The scopes the coordinator asks the gateway for: `operator.read` always, and more only for
 * what the user turned on (enforcement, notices). What the gateway grants decides what is in
 * force; a gateway that will not grant a scope turns that feature off, never the watching.
 * @module
 */
import { ADMIN_SCOPE, covers, READ_SCOPE, WRITE_SCOPE } from "../../gateway/mod.ts";

// The scope names and what covers what are the protocol's; the daemon's parts take them from here.
export { ADMIN_SCOPE, covers, READ_SCOPE, WRITE_SCOPE };

/** A feature that needs scopes beyond reading, by name (e.g. `enforce prevent`). */
export interface ScopeNeed {
  /** The feature, as status and the log name it. */
  feature: string;
  /** The scopes it needs, all of them (`operator.admin` stands in for any). */
  scopes: readonly string[];
}

/** What the gateway granted, feature by feature. */
export interface ScopeReport {
  /** Scopes asked for on the connection in use (or the last attempt). */
  asked: readonly string[];
  /** Scopes granted on the connection in use; empty while not connected. */
  held: readonly string[];
  /** Features in force on the connection in use. */
  inForce: readonly string[];
  /** Features turned on in the config but not in force, each with why. */
  off: readonly { feature: string; why: string }[];
}

/** Each scope the needs ask for, with the features asking, `operator.read` (watching) first. */
export function scopesOf(needs: readonly ScopeNeed[]): Map<string, string[]> {
  const out = new Map<string, string[]>([[READ_SCOPE, ["watching (always)"]]]);
  for (const n of needs) {
    for (const s of n.scopes) out.set(s, [...(out.get(s) ?? []), n.feature]);
  }
  return out;
}

/**
 * Scopes to ask for and what came of them. Asks for every need's scopes; after the gateway
 * refused the connection for asking (pairing or scope refused), asks for reading only until
 * the coordinator restarts, so that watching goes on.
 */
export class ScopeNegotiation {
  readonly #needs: ScopeNeed[];
  #refused: string | undefined;
  #asked: readonly string[] = [];
  #held: readonly string[] = [];

  /** Starts with the needs of what the config turned on. */
  constructor(needs: readonly ScopeNeed[]) {
    this.#needs = [...needs];
  }

  /** Adds a need before the next `connect` (giving back what an earlier run changed). */
  need(n: ScopeNeed): void {
    if (!this.#needs.some((m) => m.feature === n.feature)) this.#needs.push(n);
  }

  /** No longer needs a feature's scopes: the next `connect` does not ask for them. */
  drop(feature: string): void {
    const i = this.#needs.findIndex((m) => m.feature === feature);
    if (i >= 0) this.#needs.splice(i, 1);
  }

  /** Every scope asked for when nothing was refused, `operator.read` first. */
  get wanted(): readonly string[] {
    return [...scopesOf(this.#needs).keys()];
  }

  /** The scopes to ask for in the next `connect`. */
  nextScopes(): readonly string[] {
    this.#asked = this.#refused === undefined ? this.wanted : [READ_SCOPE];
    return this.#asked;
  }

  /**
   * The gateway refused a `connect`: when it asked for more than reading, the next attempt
   * asks for reading only (returns true); otherwise the refusal stands (false).
   */
  refused(message: string): boolean {
    if (this.#asked.length <= 1 || this.#refused !== undefined) return false;
    this.#refused = message;
    return true;
  }

  /** The scopes granted on a new connection, or none when it ended. */
  granted(scopes: readonly string[] | undefined): void {
    this.#held = scopes ?? [];
  }

  /** Whether a feature is in force on the connection in use. */
  inForce(feature: string): boolean {
    const need = this.#needs.find((n) => n.feature === feature);
    return need !== undefined && need.scopes.every((s) => covers(this.#held, s));
  }

  /** What status shows. */
  report(): ScopeReport {
    const inForce: string[] = [];
    const off: { feature: string; why: string }[] = [];
    for (const n of this.#needs) {
      if (this.inForce(n.feature)) {
        inForce.push(n.feature);
        continue;
      }
      const missing = n.scopes.filter((s) => !covers(this.#held, s));
      off.push({
        feature: n.feature,
        why: this.#refused !== undefined
          ? `the gateway refused the connection asking for ${
            missing.join(", ")
          } (${this.#refused}); ` +
            "watching with operator.read only: approve the coordinator's device for those " +
            "scopes on the gateway, then restart the coordinator"
          : this.#held.length === 0
          ? "not connected"
          : `the gateway did not grant ${missing.join(", ")}: approve the coordinator's device ` +
            "for them on the gateway, then restart the coordinator",
      });
    }
    return { asked: this.#asked, held: this.#held, inForce, off };
  }
}
