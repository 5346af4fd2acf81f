/**
 * The gateway's tool policy from its `config.get` answer (`operator.read`): `tools` and each
 * agent's `tools`, nothing else of the config (which holds secrets, redacted or not). The
 * config in force is `runtimeConfig` (what the gateway applied); older answers have `config`.
 * @module
 */
import type {
  EventSource,
  GatewayToolPolicy,
  ToolPolicyEvent,
  ToolPolicyLayer,
} from "../../rules/mod.ts";
import { canonicalJson, sha256Hex } from "../../util/mod.ts";

/** The request that reads the config. */
export const CONFIG_GET = "config.get";
/** The event the gateway sends when its config changed (file edited, `config.set/patch`). */
export const CONFIG_CHANGED_EVENT = "config.changed";

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function strings(x: unknown, where: string): string[] | undefined {
  if (x === undefined || x === null) return undefined;
  if (!Array.isArray(x)) throw new Error(`Cannot read the tool policy: ${where} is not a list`);
  return x.filter((s): s is string => typeof s === "string");
}

function layer(x: unknown, where: string): ToolPolicyLayer | undefined {
  if (x === undefined || x === null) return undefined;
  if (!isObj(x)) throw new Error(`Cannot read the tool policy: ${where} is not an object`);
  const out: ToolPolicyLayer = {};
  if (typeof x.profile === "string" && x.profile.trim() !== "") out.profile = x.profile.trim();
  for (const f of ["allow", "alsoAllow", "deny"] as const) {
    const l = strings(x[f], `${where}.${f}`);
    if (l !== undefined) out[f] = l;
  }
  return out;
}

// The agents the config names: `agents.entries` (keyed by id) or the older `agents.list`.
function agentsOf(agents: Obj): Record<string, ToolPolicyLayer> | undefined {
  const out: Record<string, ToolPolicyLayer> = {};
  if (agents.entries !== undefined && agents.entries !== null) {
    if (!isObj(agents.entries)) {
      throw new Error("Cannot read the tool policy: agents.entries is not an object");
    }
    for (const [id, e] of Object.entries(agents.entries)) {
      out[id.trim().toLowerCase()] =
        (isObj(e) ? layer(e.tools, `agents.entries.${id}.tools`) : {}) ??
          {};
    }
    return out;
  }
  if (Array.isArray(agents.list)) {
    for (const e of agents.list) {
      if (!isObj(e) || typeof e.id !== "string") continue;
      const id = e.id.trim().toLowerCase();
      if (!(id in out)) out[id] = layer(e.tools, `agents.list[${id}].tools`) ?? {};
    }
    return out;
  }
  return undefined;
}

/** The tool policy in a `config.get` answer; throws when the answer has no config. */
export function toolPolicyOf(answer: unknown): GatewayToolPolicy {
  const a = isObj(answer) ? answer : {};
  const config = [a.runtimeConfig, a.config, a.resolved].find(isObj);
  if (config === undefined) {
    throw new Error("Cannot read the tool policy: the gateway's config.get answer has no config");
  }
  const agents = isObj(config.agents) ? config.agents : {};
  const named = agentsOf(agents);
  const policy: GatewayToolPolicy = {
    global: layer(config.tools, "tools") ?? {},
    agents: named ?? {},
  };
  // OpenClaw applies agents.defaults.tools only when the config has no roster at all.
  const defaults = named === undefined && isObj(agents.defaults)
    ? layer(agents.defaults.tools, "agents.defaults.tools")
    : undefined;
  if (defaults !== undefined) policy.defaults = defaults;
  return policy;
}

/** A rule event for a policy read at `at`: at connect (`catch-up`) or after a change (`live`). */
export function toolPolicyEvent(
  policy: GatewayToolPolicy,
  seen: { at: number; source: EventSource },
): ToolPolicyEvent {
  return {
    kind: "tool_policy",
    policy,
    hash: sha256Hex(canonicalJson(policy)),
    at: seen.at,
    source: seen.source,
  };
}
