/**
 * `classify`: how the coordinator classifies a call of a tool with given arguments, and
 * why, without a gateway: the built-in table with the config's `tools` overrides.
 * @module
 */
import { summarize, ToolClassifier } from "../rules/mod.ts";

/** What `classify` prints. */
export interface ClassifyResult {
  /** The tool asked about. */
  tool: string;
  /** Its class. */
  class: string;
  /** Why. */
  why: string;
  /** The summary the ledger would keep. */
  summary: string;
}

/** Classifies `tool` called with the JSON `argsText` ("{}" when absent). */
export function classifyCall(
  tool: string,
  argsText: string | undefined,
  overrides: ConstructorParameters<typeof ToolClassifier>[0],
): ClassifyResult {
  let args: unknown = {};
  if (argsText !== undefined) {
    try {
      args = JSON.parse(argsText);
    } catch (err) {
      throw new SyntaxError(
        `Cannot read the arguments: ${(err as Error).message}; pass them as JSON, ` +
          `e.g. '{"command":"ls -la"}'`,
      );
    }
  }
  const c = new ToolClassifier(overrides).classify(tool, args);
  return { tool, class: c.class, why: c.why, summary: summarize(tool, args) };
}
