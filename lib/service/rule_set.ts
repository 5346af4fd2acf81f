/**
 * The rules the coordinator runs, built from the config: one place for `run` and `replay`.
 * A new check is a new rule module and one line here.
 * @module
 */
import {
  CommitmentDriftRule,
  type Finding,
  type Governance,
  ModeRule,
  PostureRule,
  RoleMap,
  RoleRule,
  RuleEngine,
  type RuleEvent,
  SequenceEngine,
  SequenceRule,
  ToolClassifier,
} from "../rules/mod.ts";
import type { Config } from "./config.ts";

/** What the engine needs besides the config. */
export interface RuleSetOptions {
  /** The governance in force, read for every event. */
  governance: () => Governance;
  /** Receives every finding, in order. */
  onFinding: (finding: Finding, event: RuleEvent) => void;
  /** Ids for findings whose event has none (default: random UUIDs). */
  newId?: () => string;
}

/** The rule engine over every rule the config asks for. */
export function buildRuleEngine(config: Config, opts: RuleSetOptions): RuleEngine {
  const roles = new RoleMap(config.roles, config.sequence);
  const sequence = new SequenceRule(
    new SequenceEngine(config.sequence, {
      ttlMs: config.conversationTtlSeconds * 1000,
      maxConversations: config.maxConversations,
    }),
    roles,
  );
  const classifier = new ToolClassifier(config.tools);
  return new RuleEngine([
    sequence,
    new PostureRule(classifier),
    new RoleRule(classifier, roles),
    new ModeRule(classifier),
    new CommitmentDriftRule(config.drift),
  ], opts);
}
