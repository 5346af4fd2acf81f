/**
 * The rules the coordinator runs, built from the config: one place for `run` and `replay`.
 * A new check is a new rule module and one line here.
 * @module
 */
import {
  AuditRule,
  CommitmentDriftRule,
  type Finding,
  type Governance,
  GovernanceChangeRule,
  GovernanceDriftRule,
  governanceValue,
  ModeRule,
  normalise,
  OBSERVER_ROLE,
  PostureRule,
  RoleMap,
  RoleRule,
  type Rule,
  RuleEngine,
  type RuleEvent,
  SequenceEngine,
  SequenceRule,
  ToolClassifier,
} from "../rules/mod.ts";
import type { Config } from "./config.ts";
import type { LockRules } from "./enforce/mod.ts";

/** What the engine needs besides the config. */
export interface RuleSetOptions {
  /** The governance in force, read for every event. */
  governance: () => Governance;
  /** Receives every finding, in order. */
  onFinding: (finding: Finding, event: RuleEvent) => void;
  /** Ids for findings whose event has none (default: random UUIDs). */
  newId?: () => string;
  /**
   * Whether the caller feeds the other writers' ledger entries (the daemon does; a replay
   * does not): without them the audit rule would find every run unaudited, so it is left out.
   */
  ledgerEntries?: boolean;
}

/** The rule engine over every rule the config asks for. */
export function buildRuleEngine(config: Config, opts: RuleSetOptions): RuleEngine {
  const on = (id: string) => config.rules[id] !== false;
  const roles = new RoleMap(config.roles, config.sequence);
  const classifier = new ToolClassifier(config.tools);
  const auditAgents = new Map(Object.entries(config.auditAgents));
  const rules: Rule[] = [];
  if (on("sequence")) {
    rules.push(
      new SequenceRule(
        new SequenceEngine(config.sequence, {
          ttlMs: config.conversationTtlSeconds * 1000,
          maxConversations: config.maxConversations,
        }),
        roles,
      ),
    );
  }
  if (on("posture")) rules.push(new PostureRule(classifier));
  if (on("role")) rules.push(new RoleRule(classifier, roles));
  if (on("mode")) rules.push(new ModeRule(classifier));
  const governed = governedBy(config);
  if (on("audit") && opts.ledgerEntries === true) {
    rules.push(
      new AuditRule({
        governed,
        ledgerName: (a) => auditAgents.get(normalise(a)) ?? a,
        slackMs: config.auditSlackSeconds * 1000,
      }),
    );
  }
  if (on("drift")) rules.push(new CommitmentDriftRule(config.drift));
  if (on("governance")) rules.push(new GovernanceChangeRule({ governed }));
  if (on("governance_drift")) {
    rules.push(new GovernanceDriftRule({ roleOf: (a) => roles.resolve(a) }));
  }
  return new RuleEngine(rules, opts);
}

/** Whether the rules govern an agent: it takes part in the sequence, or is named for the audit. */
export function governedBy(config: Config): (agent: string) => boolean {
  const roles = new RoleMap(config.roles, config.sequence);
  const auditAgents = new Set(Object.keys(config.auditAgents));
  return (a) => roles.resolve(a) !== undefined || auditAgents.has(normalise(a));
}

/** Whose sessions `enforce: prevent` makes read-only under `governance`. */
export function lockRules(config: Config, governance: Governance): LockRules {
  const roles = new RoleMap(config.roles, config.sequence);
  return {
    enforcing: config.enforce !== "off",
    scout: governanceValue(governance.fields.posture) === "scout",
    governed: governedBy(config),
    observer: (a) => roles.resolve(a) === OBSERVER_ROLE,
  };
}
