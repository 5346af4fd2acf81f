/**
 * Governance drift: what MO§ES governance says against what the gateway enforces. Posture
 * scout allows reading only, and so does the observer role; an agent the gateway's tool
 * policy still lets use mutating tools under either is a mismatch. Each distinct mismatch
 * (agent, why, the mutating tools left) is one `governance_drift` finding when it appears,
 * not one per read: the mismatches in force are kept in the rule's saved state, so a restart
 * or a reconnect that finds them again records nothing. Pure.
 * @module
 */
import { sha256Hex, uuidShaped } from "../../util/mod.ts";
import type { GovernanceEvent, RuleEvent, ToolPolicyEvent } from "../event.ts";
import type { Finding } from "../finding.ts";
import { governanceValue } from "../tools/mod.ts";
import type { Rule, RuleContext, RuleStats } from "../rule.ts";
import {
  agentLayer,
  allowedMutatingTools,
  type GatewayToolPolicy,
  policyAgents,
  type ToolPolicyLayer,
} from "./tool_policy.ts";

/** The id of the governance-drift rule. */
export const GOVERNANCE_DRIFT_RULE = "governance_drift";
/** The ledger action and key of its findings. */
export const GOVERNANCE_DRIFT_ACTION = "governance_drift";

/** Why governance allows an agent reading only. */
export type ReadOnlyBecause = "posture scout" | "role observer";

/** One agent whose gateway policy leaves mutating tools that governance forbids it. */
export interface Mismatch {
  /** The agent id (as the gateway's config names it, lower-case). */
  agent: string;
  /** What in governance allows it reading only. */
  because: ReadOnlyBecause;
  /** The mutating tools the policy leaves it. */
  allowed: string[];
}

/** The structured object of a finding. */
export interface GovernanceDriftRecord {
  /** The finding's id. */
  id: string;
  /** The mismatches that appeared. */
  mismatches: Mismatch[];
  /** The posture in force. */
  posture: unknown;
  /** SHA-256 of the tool policy read (its canonical JSON). */
  policyHash: string;
  /** The policy layers behind the mismatches: `tools` and each agent's `tools` (lists bounded). */
  policy: { global: ToolPolicyLayer; agents: Record<string, ToolPolicyLayer | null> };
}

/** How the rule is set up. */
export interface GovernanceDriftOptions {
  /** The role of an agent (the config's role map), or undefined. */
  roleOf: (agent: string) => string | undefined;
}

// Lists in the record are bounded: a config can hold long ones.
const MAX_LIST = 64;
const MAX_NAME = 128;

function key(m: Mismatch): string {
  return `${m.agent}\n${m.because}\n${m.allowed.join(",")}`;
}

function bounded(layer: ToolPolicyLayer | undefined): ToolPolicyLayer | null {
  if (layer === undefined) return null;
  const list = (l: readonly string[] | undefined) =>
    l?.slice(0, MAX_LIST).map((s) => s.slice(0, MAX_NAME).toWellFormed());
  const out: ToolPolicyLayer = {};
  if (layer.profile !== undefined) out.profile = layer.profile.slice(0, MAX_NAME).toWellFormed();
  for (const f of ["allow", "alsoAllow", "deny"] as const) {
    const l = list(layer[f]);
    if (l !== undefined) out[f] = l;
  }
  return out;
}

function describe(ms: readonly Mismatch[]): string {
  return ms.map((m) => `${m.agent} (${m.because}) may use ${m.allowed.join(", ")}`).join("; ");
}

/** Judges the gateway's tool policy against the posture and the roles in force. */
export class GovernanceDriftRule implements Rule {
  /** Always {@link GOVERNANCE_DRIFT_RULE}. */
  readonly id: typeof GOVERNANCE_DRIFT_RULE = GOVERNANCE_DRIFT_RULE;
  readonly accepts = ["tool_policy", "governance"] as const;
  readonly actions = [GOVERNANCE_DRIFT_ACTION];
  readonly #roleOf: (agent: string) => string | undefined;
  // The policy last read (none until the first read after start) and its hash.
  #policy: { policy: GatewayToolPolicy; hash: string } | undefined;
  // The identity of the governance last read (a change's finding id derives from it).
  #governanceId = "";
  // The mismatches in force and already recorded, by key: the saved state.
  #active = new Map<string, Mismatch>();
  #reads = 0;

  /** Creates the rule. */
  constructor(opts: GovernanceDriftOptions) {
    this.#roleOf = opts.roleOf;
  }

  evaluate(event: RuleEvent, ctx: RuleContext): Finding<GovernanceDriftRecord> | undefined {
    if (event.kind === "governance") this.#governanceId = event.id ?? JSON.stringify(event.to);
    else if (event.kind === "tool_policy") {
      this.#reads++;
      this.#policy = { policy: event.policy, hash: event.hash };
    } else return undefined;
    // Until the gateway's policy is read there is nothing to compare with (nor to forget).
    if (this.#policy === undefined) return undefined;
    const posture = ctx.governance.fields.posture;
    const now = this.mismatches(this.#policy.policy, governanceValue(posture));
    const fresh = now.filter((m) => !this.#active.has(key(m)));
    this.#active = new Map(now.map((m) => [key(m), m]));
    if (fresh.length === 0) return undefined;
    return this.#finding(event, fresh, posture);
  }

  /** The mismatches of `policy` under `posture` (normalised) and the roles, by agent. */
  mismatches(policy: GatewayToolPolicy, posture: string): Mismatch[] {
    const out: Mismatch[] = [];
    for (const agent of policyAgents(policy)) {
      const why: ReadOnlyBecause[] = [];
      if (posture === "scout") why.push("posture scout");
      if (this.#roleOf(agent) === "observer") why.push("role observer");
      if (why.length === 0) continue;
      const allowed = allowedMutatingTools(policy, agent);
      if (allowed.length === 0) continue;
      for (const because of why) out.push({ agent, because, allowed });
    }
    return out;
  }

  /** The mismatches in force (recorded when they appeared). */
  current(): Mismatch[] {
    return [...this.#active.values()];
  }

  #finding(
    e: GovernanceEvent | ToolPolicyEvent,
    fresh: Mismatch[],
    posture: unknown,
  ): Finding<GovernanceDriftRecord> {
    const p = this.#policy!;
    // The same policy, governance and mismatches give the same id: a finding written just
    // before a crash and found again at the next start is not written twice.
    const id = uuidShaped(
      sha256Hex(`governance_drift\n${p.hash}\n${this.#governanceId}\n${fresh.map(key).join("\n")}`),
      "f",
    );
    const agents: Record<string, ToolPolicyLayer | null> = {};
    for (const m of fresh) agents[m.agent] = bounded(agentLayer(p.policy, m.agent));
    return {
      id,
      rule: GOVERNANCE_DRIFT_RULE,
      action: GOVERNANCE_DRIFT_ACTION,
      at: e.at,
      detail: `Governance allows reading only but the gateway's tool policy does not: ${
        describe(fresh)
      }`,
      outcome: "logged",
      ...(fresh.every((m) => m.agent === fresh[0]!.agent) ? { agent: fresh[0]!.agent } : {}),
      key: GOVERNANCE_DRIFT_ACTION,
      data: {
        id,
        mismatches: fresh,
        posture,
        policyHash: p.hash,
        policy: { global: bounded(p.policy.global) ?? {}, agents },
      },
    };
  }

  stats(): RuleStats {
    return { policyReads: this.#reads, mismatches: this.#active.size };
  }

  /** `{"active":[{agent,because,allowed},…]}`: the mismatches already recorded. */
  saveState(write: (json: string) => void): void {
    write(JSON.stringify({ active: this.current() }));
  }

  restoreState(state: unknown): string | undefined {
    const s = state as { active?: unknown } | null;
    if (typeof s !== "object" || s === null || !Array.isArray(s.active)) {
      throw new Error('"active" must be an array');
    }
    const active = new Map<string, Mismatch>();
    for (const m of s.active as unknown[]) {
      const r = m as Record<string, unknown> | null;
      if (
        typeof r?.agent !== "string" ||
        (r.because !== "posture scout" && r.because !== "role observer") ||
        !Array.isArray(r.allowed) || !r.allowed.every((t) => typeof t === "string")
      ) throw new Error("a mismatch must have agent, because and allowed");
      const mm: Mismatch = { agent: r.agent, because: r.because, allowed: r.allowed as string[] };
      active.set(key(mm), mm);
    }
    this.#active = active;
    return undefined;
  }
}
