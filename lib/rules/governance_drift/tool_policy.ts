/**
 * OpenClaw's tool policy as the gateway's config states it (`tools`, and per agent
 * `agents.entries.<id>.tools`), and which mutating tools it leaves an agent. The layers and
 * their order are OpenClaw's (openclaw@2026.9.6, docs `gateway/config-tools/tool-policy.md`,
 * code `resolveEffectiveToolPolicy`): the profile (the agent's, else the global one, widened
 * by `alsoAllow`), then the global allow/deny, then the agent's; each layer can only narrow,
 * and deny wins. Layers that apply to some runs only (per provider or model, per sender, the
 * sandbox's, a session's permission mode) are not counted: they do not hold for every run,
 * so leaving them out can only report more, never less. Pure.
 * @module
 */

/** One layer of policy as the config states it; lists as written (names, `group:*`, globs). */
export interface ToolPolicyLayer {
  /** `minimal`, `coding`, `messaging` or `full` (an unknown name filters nothing, as in OpenClaw). */
  profile?: string;
  /** When set and not empty, only these tools. */
  allow?: readonly string[];
  /** Added to the profile (and, without `allow`, to everything). */
  alsoAllow?: readonly string[];
  /** Never these tools. */
  deny?: readonly string[];
}

/** The tool policy of a gateway, as read from its config (facts only: no other config). */
export interface GatewayToolPolicy {
  /** `tools`. */
  global: ToolPolicyLayer;
  /**
   * The agents the config names (`agents.entries` keys or `agents.list[].id`, lower-cased),
   * each with its `tools` (`{}` when it has none). Empty when the config names no agent:
   * then OpenClaw's one implicit agent, `main`, runs with `agents.defaults.tools`.
   */
  agents: Readonly<Record<string, ToolPolicyLayer>>;
  /** `agents.defaults.tools`, which OpenClaw applies only when the config names no agent. */
  defaults?: ToolPolicyLayer;
}

/**
 * The tools a governance that allows reading only must not leave: OpenClaw's always-mutating
 * tools (`isMutatingToolCall`), the command runners (`exec`, `process`, `code_execution`,
 * mutating for most commands), and the tools that mutate for most of their actions (`message`,
 * `gateway`, `nodes`, `automations` = `cron`, `canvas`): a policy allows or denies a tool, not
 * an action.
 */
export const MUTATING_TOOLS: readonly string[] = [
  "write",
  "edit",
  "apply_patch",
  "exec",
  "process",
  "code_execution",
  "sessions_spawn",
  "sessions_send",
  "conversations_send",
  "conversations_turn",
  "create_goal",
  "update_goal",
  "message",
  "gateway",
  "nodes",
  "automations",
  "canvas",
];

// Of each of OpenClaw's tool groups and profiles, the members in MUTATING_TOOLS (read from
// openclaw@2026.9.6's tool catalogue; its docs' tables are older).
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  "group:fs": ["write", "edit", "apply_patch"],
  "group:runtime": ["exec", "process", "code_execution"],
  "group:sessions": ["sessions_spawn", "sessions_send", "conversations_send", "conversations_turn"],
  "group:ui": ["canvas"],
  "group:messaging": ["message"],
  "group:automation": ["automations", "gateway"],
  "group:nodes": ["nodes"],
  "group:agents": ["create_goal", "update_goal"],
  "group:openclaw": [
    "code_execution",
    "sessions_spawn",
    "sessions_send",
    "conversations_send",
    "conversations_turn",
    "create_goal",
    "update_goal",
    "message",
    "gateway",
    "nodes",
    "automations",
  ],
};
const PROFILES: Readonly<Record<string, readonly string[]>> = {
  minimal: ["gateway"],
  coding: [
    "write",
    "edit",
    "apply_patch",
    "exec",
    "process",
    "code_execution",
    "sessions_spawn",
    "sessions_send",
    "conversations_send",
    "conversations_turn",
    "create_goal",
    "update_goal",
    "automations",
    "gateway",
  ],
  messaging: [
    "sessions_spawn",
    "sessions_send",
    "conversations_send",
    "conversations_turn",
    "message",
    "gateway",
  ],
  full: ["*"],
};
const ALIASES: Readonly<Record<string, string>> = {
  bash: "exec",
  "apply-patch": "apply_patch",
  cron: "automations",
};

/** The name as OpenClaw's policy compares it: trimmed, lower-case, aliases resolved. */
export function policyName(name: string): string {
  const n = name.trim().toLowerCase();
  return ALIASES[n] ?? n;
}

// A list as a predicate on tool names: groups expanded, `*` globs, aliases.
function matcher(list: readonly string[]): (tool: string) => boolean {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  let all = false;
  for (const raw of list) {
    const n = policyName(raw);
    if (n === "") continue;
    if (n === "*") all = true;
    else if (Object.hasOwn(GROUPS, n)) GROUPS[n]!.forEach((t) => exact.add(t));
    else if (n.includes("*")) {
      const escaped = n.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
      globs.push(new RegExp(`^${escaped.join(".*")}$`));
    } else exact.add(n);
  }
  return (tool) => all || exact.has(tool) || globs.some((g) => g.test(tool));
}

// One layer as OpenClaw filters with it: deny wins; an empty allow allows all; `write` in the
// allow list lets `apply_patch` through too.
function layerAllows(allow: readonly string[] | undefined, deny: readonly string[] | undefined) {
  const denied = matcher(deny ?? []);
  const allowed = allow && allow.length > 0 ? matcher(allow) : undefined;
  return (tool: string) =>
    !denied(tool) &&
    (allowed === undefined || allowed(tool) || (tool === "apply_patch" && allowed("write")));
}

// `allow` widened by `alsoAllow` (OpenClaw: alsoAllow alone means everything plus those).
function allowList(l: ToolPolicyLayer | undefined): readonly string[] | undefined {
  const also = l?.alsoAllow ?? [];
  if (l?.allow === undefined) return also.length > 0 ? ["*", ...also] : undefined;
  if (also.length === 0) return l.allow;
  return l.allow.length === 0 ? ["*", ...also] : [...l.allow, ...also];
}

/** The `tools` OpenClaw applies to `agent` (its entry's; `agents.defaults.tools` without any). */
export function agentLayer(policy: GatewayToolPolicy, agent: string): ToolPolicyLayer | undefined {
  const id = policyName(agent);
  if (Object.keys(policy.agents).length === 0) return id === "main" ? policy.defaults : undefined;
  return policy.agents[id];
}

/** The agents the policy is for: those the config names, else OpenClaw's implicit `main`. */
export function policyAgents(policy: GatewayToolPolicy): string[] {
  const named = Object.keys(policy.agents);
  return named.length > 0 ? named.sort() : ["main"];
}

/** Of {@link MUTATING_TOOLS}, those the policy leaves `agent` (in that order). */
export function allowedMutatingTools(policy: GatewayToolPolicy, agent: string): string[] {
  const own = agentLayer(policy, agent);
  const profile = own?.profile ?? policy.global.profile;
  const layers: Array<(tool: string) => boolean> = [];
  const profileTools = profile === undefined ? undefined : PROFILES[policyName(profile)];
  if (profileTools !== undefined) {
    // alsoAllow widens the profile: the agent's list, else the global one.
    const also = own?.alsoAllow ?? policy.global.alsoAllow ?? [];
    layers.push(layerAllows([...profileTools, ...also], undefined));
  }
  layers.push(layerAllows(allowList(policy.global), policy.global.deny));
  if (own !== undefined) layers.push(layerAllows(allowList(own), own.deny));
  return MUTATING_TOOLS.filter((t) => layers.every((allows) => allows(t)));
}
