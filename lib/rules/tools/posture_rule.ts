/**
 * The posture rule: scout allows reading only; defense allows no outbound or destructive
 * call without an operator's confirmation; offense allows everything (within the mode).
 * @module
 */
import type { RuleEvent } from "../event.ts";
import type { Rule, RuleContext, RuleStats } from "../rule.ts";
import type { ToolClassifier } from "./classify.ts";
import { confirmationOf } from "./confirmation.ts";
import { governanceValue, type ToolCallFinding, toolFinding } from "./tool_finding.ts";

/** The id of the posture rule. */
export const POSTURE_RULE = "posture";

/** Judges tool calls against the posture in force. */
export class PostureRule implements Rule {
  /** Always {@link POSTURE_RULE}. */
  readonly id: typeof POSTURE_RULE = POSTURE_RULE;
  readonly accepts = ["tool_call"] as const;
  readonly actions = ["posture_violation"];
  readonly #classifier: ToolClassifier;
  #allowed = 0;

  /** Classifies calls with `classifier`. */
  constructor(classifier: ToolClassifier) {
    this.#classifier = classifier;
  }

  evaluate(event: RuleEvent, ctx: RuleContext): ToolCallFinding | undefined {
    if (event.kind !== "tool_call") return undefined;
    const posture = governanceValue(ctx.governance.fields.posture);
    const c = this.#classifier.ofEvent(event);
    let forbidden = false;
    if (posture === "scout") forbidden = c.class !== "read";
    else if (posture === "defense") {
      forbidden = (c.class === "outbound" || c.class === "destructive") &&
        confirmationOf(event) === "unconfirmed";
    }
    if (!forbidden) {
      this.#allowed++;
      return undefined;
    }
    return toolFinding(event, {
      rule: POSTURE_RULE,
      action: "posture_violation",
      forbiddenBy: posture === "scout"
        ? "posture scout (read-only)"
        : "posture defense (no unconfirmed outbound or destructive call)",
      classification: c,
    }, ctx);
  }

  stats(): RuleStats {
    return { allowed: this.#allowed };
  }
}
