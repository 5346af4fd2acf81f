/**
 * The coordinator's configuration: `governance/coordinator.jsonc` (JSONC or JSON5),
 * optional, every key with a default. Parsing and validation are pure; only
 * {@link loadConfig} touches the file system.
 * @module
 */
import JSON5 from "json5";
import {
  DEFAULT_DRIFT_OPTIONS,
  DEFAULT_SEQUENCE,
  DRIFT_SCORERS,
  type DriftOptions,
  isToolClass,
  TOOL_CLASSES,
  type ToolClass,
} from "../rules/mod.ts";
import { normalise } from "../rules/mod.ts";
import { readRegularTextIfExists } from "../util/mod.ts";
import { ENFORCE_LEVELS, type EnforceLevel, isEnforceLevel } from "./enforce/level.ts";
import type { ConversationFrom } from "../gateway/mod.ts";

/** The validated configuration. */
export interface Config {
  /** Roles in the order they must answer. */
  sequence: string[];
  /** Agent id to role, for agents whose id is not a role name. */
  roles: Record<string, string>;
  /** Idle time after which a conversation is forgotten. */
  conversationTtlSeconds: number;
  /** Most conversations tracked at once. */
  maxConversations: number;
  /** Most violations kept in memory while the ledger cannot be written. */
  maxPendingViolations: number;
  /**
   * OpenClaw: the conversation of session `agent:<id>:<rest>` is `<rest>` (agents in one
   * conversation each have their own session), or the whole session key.
   */
  conversationFrom: ConversationFrom;
  /** Tool name to class, overriding the built-in table for every call of that tool. */
  tools: Record<string, ToolClass>;
  /** Rules turned off (`false`) or on (`true`, the default for every rule), by rule id. */
  rules: Record<string, boolean>;
  /** OpenClaw agent id to the name it writes its own ledger entries under (default: its id). */
  auditAgents: Record<string, string>;
  /** How far the agents' clocks may differ from the gateway's, in seconds (audit rule). */
  auditSlackSeconds: number;
  /** The commitment drift rule: scorer, level, and the bounds of its history. */
  drift: DriftOptions;
  /** How far the coordinator acts through the gateway: `off` (record only), `prevent`, `abort`. */
  enforce: EnforceLevel;
  /** Notices to the operator through OpenClaw (off by default). */
  notify: NotifyConfig;
}

/** How a violation is put in front of the operator: not at all, an OpenClaw question, or a device notification. */
export type NotifyChannel = "off" | "question" | "node";

/** The channels `notify.channel` may name. */
export const NOTIFY_CHANNELS: readonly NotifyChannel[] = ["off", "question", "node"];

/** Notices to the operator. */
export interface NotifyConfig {
  /** The channel (`off`: none). */
  channel: NotifyChannel;
  /** At most one notice per conversation in this many seconds. */
  intervalSeconds: number;
}

/** The ids of the rules, as `rules` in the config names them. */
export const RULE_IDS: readonly string[] = [
  "sequence",
  "posture",
  "role",
  "mode",
  "audit",
  "governance",
  "drift",
  "governance_drift",
];

/** Defaults for every key. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  sequence: [...DEFAULT_SEQUENCE],
  roles: {},
  conversationTtlSeconds: 86_400,
  maxConversations: 100_000,
  maxPendingViolations: 100_000,
  conversationFrom: "rest",
  tools: {},
  rules: {},
  auditAgents: {},
  auditSlackSeconds: 2,
  drift: DEFAULT_DRIFT_OPTIONS,
  enforce: "off",
  notify: Object.freeze({ channel: "off" as NotifyChannel, intervalSeconds: 300 }),
});

/** A configuration that cannot be used; the message names the file and the place. */
export class ConfigError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

const KEYS = new Set(Object.keys(DEFAULT_CONFIG));

/** Parses and validates configuration text; `source` names the file in errors. */
export function parseConfig(text: string, source: string): Config {
  let raw: unknown;
  try {
    raw = JSON5.parse(text);
  } catch (err) {
    const e = err as { message?: string; lineNumber?: number; columnNumber?: number };
    const msg = (e.message ?? String(err)).replace(/^JSON5: /, "").replace(/ at \d+:\d+$/, "");
    const where = e.lineNumber !== undefined
      ? ` at line ${e.lineNumber} column ${e.columnNumber}`
      : "";
    throw new ConfigError(`Cannot read config ${source}: ${msg}${where}`);
  }
  const fail = (what: string): never => {
    throw new ConfigError(`Cannot read config ${source}: ${what}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return fail("the file must hold an object ({ … })");
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!KEYS.has(key)) {
      fail(`unknown key "${key}"; the keys are ${[...KEYS].join(", ")}`);
    }
  }
  const config: Config = {
    ...DEFAULT_CONFIG,
    sequence: [...DEFAULT_CONFIG.sequence],
    roles: {},
    tools: {},
    rules: {},
    auditAgents: {},
    drift: { ...DEFAULT_DRIFT_OPTIONS },
    notify: { ...DEFAULT_CONFIG.notify },
  };

  if (obj.sequence !== undefined) {
    if (!Array.isArray(obj.sequence) || obj.sequence.length === 0) {
      fail('"sequence" must be a non-empty list of role names');
    }
    const seq = (obj.sequence as unknown[]).map((r, i) => {
      if (typeof r !== "string" || normalise(r) === "") {
        return fail(`"sequence[${i}]" must be a role name (a non-empty string)`);
      }
      return normalise(r);
    });
    if (new Set(seq).size !== seq.length) fail('"sequence" names a role twice');
    config.sequence = seq;
  }

  if (obj.roles !== undefined) {
    if (typeof obj.roles !== "object" || obj.roles === null || Array.isArray(obj.roles)) {
      fail('"roles" must be an object of agent id to role, like { "alice": "primary" }');
    }
    for (const [agent, role] of Object.entries(obj.roles as Record<string, unknown>)) {
      if (typeof role !== "string" || !config.sequence.includes(normalise(role))) {
        fail(
          `"roles.${agent}" must be one of the sequence's roles (${config.sequence.join(", ")})`,
        );
      }
      if (normalise(agent) === "") fail('"roles" has an empty agent id');
      config.roles[normalise(agent)] = normalise(role as string);
    }
  }

  if (obj.tools !== undefined) {
    if (typeof obj.tools !== "object" || obj.tools === null || Array.isArray(obj.tools)) {
      fail('"tools" must be an object of tool name to class, like { "deploy": "destructive" }');
    }
    for (const [tool, cls] of Object.entries(obj.tools as Record<string, unknown>)) {
      if (tool.trim() === "") fail('"tools" has an empty tool name');
      if (!isToolClass(cls)) {
        fail(`"tools.${tool}" must be one of ${TOOL_CLASSES.join(", ")}`);
      }
      config.tools[tool.trim().toLowerCase()] = cls as ToolClass;
    }
  }

  if (obj.rules !== undefined) {
    if (typeof obj.rules !== "object" || obj.rules === null || Array.isArray(obj.rules)) {
      fail('"rules" must be an object of rule id to true or false, like { "audit": false }');
    }
    for (const [id, on] of Object.entries(obj.rules as Record<string, unknown>)) {
      if (!RULE_IDS.includes(id)) {
        fail(`"rules.${id}": no such rule; the rules are ${RULE_IDS.join(", ")}`);
      }
      if (typeof on !== "boolean") fail(`"rules.${id}" must be true or false`);
      config.rules[id] = on as boolean;
    }
  }

  if (obj.auditAgents !== undefined) {
    if (
      typeof obj.auditAgents !== "object" || obj.auditAgents === null ||
      Array.isArray(obj.auditAgents)
    ) {
      fail('"auditAgents" must be an object of agent id to ledger name, like { "main": "alice" }');
    }
    for (const [agent, name] of Object.entries(obj.auditAgents as Record<string, unknown>)) {
      if (normalise(agent) === "") fail('"auditAgents" has an empty agent id');
      if (typeof name !== "string" || name.trim() === "") {
        fail(`"auditAgents.${agent}" must be the name the agent logs under (a non-empty string)`);
      }
      config.auditAgents[normalise(agent)] = (name as string).trim();
    }
  }
  if (obj.auditSlackSeconds !== undefined) {
    const v = obj.auditSlackSeconds;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 3600) {
      fail('"auditSlackSeconds" must be a number of seconds from 0 to 3600');
    }
    config.auditSlackSeconds = v as number;
  }
  if (obj.drift !== undefined) config.drift = parseDrift(obj.drift, fail);
  if (obj.enforce !== undefined) {
    if (!isEnforceLevel(obj.enforce)) {
      fail(`"enforce" must be one of ${ENFORCE_LEVELS.join(", ")} (off records only)`);
    }
    config.enforce = obj.enforce as EnforceLevel;
  }
  if (obj.notify !== undefined) config.notify = parseNotify(obj.notify, fail);

  if (obj.conversationFrom !== undefined) {
    if (obj.conversationFrom !== "rest" && obj.conversationFrom !== "session") {
      fail('"conversationFrom" must be "rest" or "session"');
    }
    config.conversationFrom = obj.conversationFrom as ConversationFrom;
  }
  config.conversationTtlSeconds = positiveInt(obj, "conversationTtlSeconds", fail) ??
    config.conversationTtlSeconds;
  config.maxConversations = positiveInt(obj, "maxConversations", fail) ?? config.maxConversations;
  config.maxPendingViolations = positiveInt(obj, "maxPendingViolations", fail) ??
    config.maxPendingViolations;
  return config;
}

const DRIFT_THRESHOLDS = ["yellow", "orange", "red"];

// The `drift` object: every key optional, unknown keys refused.
function parseDrift(raw: unknown, fail: (what: string) => never): DriftOptions {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return fail('"drift" must be an object, like { "scorer": "tfidf", "level": "red" }');
  }
  const d = raw as Record<string, unknown>;
  const out: DriftOptions = { ...DEFAULT_DRIFT_OPTIONS };
  for (const key of Object.keys(d)) {
    if (!(key in out)) {
      fail(`unknown key "drift.${key}"; the keys are ${Object.keys(out).join(", ")}`);
    }
  }
  if (d.scorer !== undefined) {
    if (!DRIFT_SCORERS.includes(d.scorer as DriftOptions["scorer"])) {
      fail(`"drift.scorer" must be one of ${DRIFT_SCORERS.join(", ")}`);
    }
    out.scorer = d.scorer as DriftOptions["scorer"];
  }
  if (d.level !== undefined) {
    if (!DRIFT_THRESHOLDS.includes(d.level as string)) {
      fail(
        `"drift.level" must be one of ${
          DRIFT_THRESHOLDS.join(", ")
        } (the level from which a turn is recorded)`,
      );
    }
    out.level = d.level as DriftOptions["level"];
  }
  for (const key of ["historyTurns", "maxHistoryBytes", "maxConversations", "minTerms"] as const) {
    const v = positiveInt(d, key, (what) => fail(what.replace(`"${key}"`, `"drift.${key}"`)));
    if (v !== undefined) out[key] = v;
  }
  return out;
}

// The `notify` object: every key optional, unknown keys refused.
function parseNotify(raw: unknown, fail: (what: string) => never): NotifyConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return fail(
      '"notify" must be an object, like { "channel": "question", "intervalSeconds": 300 }',
    );
  }
  const n = raw as Record<string, unknown>;
  const out: NotifyConfig = { ...DEFAULT_CONFIG.notify };
  for (const key of Object.keys(n)) {
    if (!(key in out)) fail(`unknown key "notify.${key}"; the keys are channel, intervalSeconds`);
  }
  if (n.channel !== undefined) {
    if (!NOTIFY_CHANNELS.includes(n.channel as NotifyChannel)) {
      fail(`"notify.channel" must be one of ${NOTIFY_CHANNELS.join(", ")}`);
    }
    out.channel = n.channel as NotifyChannel;
  }
  const v = n.intervalSeconds;
  if (v !== undefined) {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > 86_400) {
      fail('"notify.intervalSeconds" must be a whole number of seconds from 1 to 86400');
    }
    out.intervalSeconds = v as number;
  }
  return out;
}

function positiveInt(
  obj: Record<string, unknown>,
  key: string,
  fail: (what: string) => never,
): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    return fail(`"${key}" must be a whole number of at least 1`);
  }
  return v;
}

/** Loads the config file at `path`, or the defaults when there is none. */
export async function loadConfig(path: string): Promise<{ config: Config; found: boolean }> {
  let text: string | undefined;
  try {
    text = await readRegularTextIfExists(path);
  } catch (err) {
    throw new ConfigError(`Cannot read config ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) {
    return { config: structuredClone(DEFAULT_CONFIG) as Config, found: false };
  }
  return { config: parseConfig(text, path), found: true };
}

/** MO§ES's own roles: an agent named like one of them has it without a `roles` entry. */
export const MOSES_ROLES: readonly string[] = ["primary", "secondary", "observer"];

/**
 * What in a valid config is likely a mistake: a role in `sequence` that no agent can hold
 * (not a MO§ES role, and no `roles` entry maps an agent to it), so its turns never come and
 * the agent meant for it is ignored.
 */
export function configWarnings(config: Config): string[] {
  const held = new Set(Object.values(config.roles));
  return config.sequence.filter((r) => !MOSES_ROLES.includes(r) && !held.has(r)).map((r) =>
    `The sequence role "${r}" is held by no agent: it is not a MO§ES role ` +
    `(${MOSES_ROLES.join(", ")}) and no entry in "roles" maps an agent to it, so only an ` +
    `agent whose id is "${r}" would take that turn; if it is a typo, fix "sequence" in ` +
    'governance/coordinator.jsonc, or map an agent to it in "roles"'
  );
}
