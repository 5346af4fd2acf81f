/**
 * The text of an error met by a command, for the user.
 * @module
 */
import { errorText } from "../util/mod.ts";

/**
 * An error's text; for a sandbox denial, why (the grants bind to the working directory)
 * instead of Deno's advice to add a flag, which a compiled binary cannot take.
 */
export function denialText(err: unknown): string {
  if (!(err instanceof Deno.errors.NotCapable)) return errorText(err);
  return `the permission set does not grant it: its paths are relative to the working ` +
    `directory (${Deno.cwd()}); run this command in the OpenClaw state directory ` +
    "(cd ~/.openclaw) and leave --state-dir out";
}
