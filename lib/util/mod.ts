/**
 * Small helpers every other folder may use: files, hashing, backoff, clocks. Depends on nothing else here.
 * @module
 */
export * from "./backoff.ts";
export * from "./canonical_json.ts";
export * from "./clock.ts";
export * from "./fs.ts";
export * from "./hash.ts";
