/**
 * The tool classes. Pure.
 * @module
 */

/** The classes, from harmless to far-reaching. */
export const TOOL_CLASSES = ["read", "write", "outbound", "destructive", "external"] as const;

/**
 * What a call does: reads; changes state; sends to someone; deletes, kills or overwrites;
 * reaches outside the machine.
 */
export type ToolClass = typeof TOOL_CLASSES[number];

/** Whether `x` names a class. */
export function isToolClass(x: unknown): x is ToolClass {
  return typeof x === "string" && (TOOL_CLASSES as readonly string[]).includes(x);
}
