/**
 * Small helpers every other folder may use: files, hashing, backoff, clocks, exit codes, the
 * coordinator's paths. Depends on nothing else here.
 *
 * Loading this folder stays cheap (no `node:crypto`, no npm package at load): the command
 * line's dispatcher, `--help` and `verify` load it, and every millisecond of it is start-up.
 * @module
 */
export * from "./backoff.ts";
export * from "./canonical_json.ts";
export * from "./clock.ts";
export * from "./exit_codes.ts";
export * from "./fs.ts";
export * from "./hash.ts";
export * from "./path.ts";
export * from "./paths.ts";
