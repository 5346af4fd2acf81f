/**
 * The coordinator's version and build facts.
 * @module
 */
import meta from "../deno.json" with { type: "json" };

/** The coordinator's version, from deno.json. */
export const VERSION: string = meta.version;

/** `--version` output: version, the Deno it runs on, and the target triple. */
export function versionText(): string {
  return `moses-coordinator ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})`;
}
