/**
 * The role rule: an observer "cannot initiate actions", so any call of an observer's that
 * is not read-only is a finding. Roles come from the config's role map.
 * @module
 */
import type { RuleEvent } from "../event.ts";
import type { RoleMap } from "../roles.ts";
import type { Rule, RuleContext, RuleStats } from "../rule.ts";
import type { ToolClassifier } from "./classify.ts";
import { type ToolCallFinding, toolFinding } from "./tool_finding.ts";

/** The id of the role rule. */
export const ROLE_RULE = "role";
/** The role that may only read. */
export const OBSERVER_ROLE = "observer";

/** Judges observers' tool calls. */
export class RoleRule implements Rule {
  /** Always {@link ROLE_RULE}. */
  readonly id: typeof ROLE_RULE = ROLE_RULE;
  readonly accepts = ["tool_call"] as const;
  readonly actions = ["role_violation"];
  readonly #classifier: ToolClassifier;
  readonly #roles: RoleMap;
  #observerCalls = 0;

  /** Classifies with `classifier`; agents' roles from `roles`. */
  constructor(classifier: ToolClassifier, roles: RoleMap) {
    this.#classifier = classifier;
    this.#roles = roles;
  }

  evaluate(event: RuleEvent, ctx: RuleContext): ToolCallFinding | undefined {
    if (event.kind !== "tool_call" || this.#roles.resolve(event.agent) !== OBSERVER_ROLE) {
      return undefined;
    }
    this.#observerCalls++;
    const c = this.#classifier.ofEvent(event);
    if (c.class === "read") return undefined;
    return toolFinding(event, {
      rule: ROLE_RULE,
      action: "role_violation",
      forbiddenBy: "role observer (cannot initiate actions)",
      classification: c,
    }, ctx);
  }

  stats(): RuleStats {
    return { observerCalls: this.#observerCalls };
  }
}
