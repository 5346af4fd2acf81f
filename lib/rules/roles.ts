/**
 * Which role an agent plays. Pure.
 * @module
 */

/** Resolves agent ids to roles: the configured map first, then a role named like the agent. */
export class RoleMap {
  readonly #explicit: Map<string, string>;
  readonly #roles: ReadonlySet<string>;

  /** `explicit` maps agent ids to roles; `roles` are the roles of the sequence. */
  constructor(explicit: Readonly<Record<string, string>>, roles: readonly string[]) {
    this.#explicit = new Map(
      Object.entries(explicit).map(([agent, role]) => [normalise(agent), normalise(role)]),
    );
    this.#roles = new Set(roles.map(normalise));
  }

  /** The role of `agent`, or undefined when it takes no part in the sequence. */
  resolve(agent: string): string | undefined {
    const id = normalise(agent);
    const role = this.#explicit.get(id) ?? id;
    return this.#roles.has(role) ? role : undefined;
  }
}

/** Trims and lower-cases an agent id or role name. */
export function normalise(name: string): string {
  return name.trim().toLowerCase();
}
