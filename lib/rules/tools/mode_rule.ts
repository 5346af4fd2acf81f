/**
 * The mode rule: high-security requires confirmation before destructive actions, outbound
 * transfers and access to external resources. The other modes constrain what agents write,
 * which tool calls do not show (mode `none` has no constraints at all).
 * @module
 */
import type { RuleEvent } from "../event.ts";
import type { Rule, RuleContext, RuleStats } from "../rule.ts";
import type { ToolClassifier } from "./classify.ts";
import { confirmationOf } from "./confirmation.ts";
import { governanceValue, type ToolCallFinding, toolFinding } from "./tool_finding.ts";

/** The id of the mode rule. */
export const MODE_RULE = "mode";

/** Judges tool calls against the mode in force. */
export class ModeRule implements Rule {
  /** Always {@link MODE_RULE}. */
  readonly id: typeof MODE_RULE = MODE_RULE;
  readonly accepts = ["tool_call"] as const;
  readonly actions = ["mode_violation"];
  readonly #classifier: ToolClassifier;
  #checked = 0;

  /** Classifies calls with `classifier`. */
  constructor(classifier: ToolClassifier) {
    this.#classifier = classifier;
  }

  evaluate(event: RuleEvent, ctx: RuleContext): ToolCallFinding | undefined {
    if (event.kind !== "tool_call") return undefined;
    if (governanceValue(ctx.governance.fields.mode) !== "high-security") return undefined;
    this.#checked++;
    const c = this.#classifier.ofEvent(event);
    if (c.class !== "destructive" && c.class !== "outbound" && c.class !== "external") {
      return undefined;
    }
    if (confirmationOf(event) === "confirmed") return undefined;
    return toolFinding(event, {
      rule: MODE_RULE,
      action: "mode_violation",
      forbiddenBy: "mode high-security (confirmation first)",
      classification: c,
    }, ctx);
  }

  stats(): RuleStats {
    return { checked: this.#checked };
  }
}
