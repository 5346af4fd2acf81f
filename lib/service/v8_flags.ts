/**
 * The V8 flags the coordinator runs with, wherever it is started from: the start task, the
 * compiled binary (baked in by `deno compile`), the tests and the benchmarks.
 * @module
 */

/**
 * Young generation capped at 4 MB a semi-space. Under a flood of frames V8 doubles it up to
 * 16 MB (and keeps it until the flood is over), which took the coordinator over 100 MB; since
 * the conversation state left the V8 heap, little survives a scavenge and the cap costs no
 * measurable throughput (bench/RESULTS.md).
 */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The `--v8-flags=` argument of `deno run` or `deno compile`; `extra` come after and win. */
export function v8FlagsArg(extra: readonly string[] = []): string {
  return `--v8-flags=${[...V8_FLAGS, ...extra].join(",")}`;
}
