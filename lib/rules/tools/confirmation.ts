/**
 * Whether an operator confirmed a call, as far as a read-only observer can tell. Approval
 * events never reach `operator.read`; what does is the session's permission mode. In mode
 * `guarded` OpenClaw asks a person before every `exec`, so an `exec` that ran there was
 * approved. Nothing else shows a confirmation: every other call is `unconfirmed`, never
 * assumed `confirmed`. Pure.
 * @module
 */
import type { ToolCallEvent } from "../event.ts";

/** Confirmed by an operator, or not seen to be. */
export type Confirmation = "confirmed" | "unconfirmed";

/** Whether the call was seen to be confirmed by an operator. */
export function confirmationOf(event: ToolCallEvent): Confirmation {
  const tool = event.tool.toLowerCase();
  if (
    (tool === "exec" || tool === "bash") && event.permissionMode === "guarded" &&
    (event.status === "executed" || event.status === "failed")
  ) {
    return "confirmed";
  }
  return "unconfirmed";
}
