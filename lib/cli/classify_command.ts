/**
 * `classify`: how the coordinator classifies a call of a tool, with the config's overrides.
 * Loaded by the dispatcher only when `classify` runs.
 * @module
 */
import { loadConfig } from "../service/mod.ts";
import { errorText, EXIT_CONFIG, EXIT_OK, type Paths } from "../util/mod.ts";
import { classifyCall } from "./classify.ts";
import type { Io } from "./io.ts";
import { UsageError } from "./usage.ts";

/** Runs `classify`: the config's overrides apply; a bad config or argument is a usage error. */
export async function classifyCommand(
  io: Io,
  opts: { tool: string; args: string | undefined; paths: Paths; json: boolean },
): Promise<number> {
  let tools = {};
  try {
    tools = (await loadConfig(opts.paths.config)).config.tools;
  } catch (err) {
    io.err(errorText(err));
    return EXIT_CONFIG;
  }
  let r;
  try {
    r = classifyCall(opts.tool, opts.args, tools);
  } catch (err) {
    throw new UsageError(errorText(err));
  }
  io.out(
    opts.json
      ? JSON.stringify(r)
      : `${r.tool}: ${r.class} (${r.why})${
        r.summary ? `; the ledger would show "${r.summary}"` : ""
      }`,
  );
  return EXIT_OK;
}
