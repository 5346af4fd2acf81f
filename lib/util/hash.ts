/**
 * SHA-256 in lower-case hex, synchronously.
 *
 * `node:crypto` is loaded on the first hash, not when this module loads: loading it costs
 * about 35 to 50 ms of start-up, which `--help`, `--version` and the commands that hash
 * nothing must not pay. Keep it so: no static import of `node:crypto` here (the start-up
 * test in tests/unit/cli/startup_test.ts fails on one).
 * @module
 */

type HashFn = typeof import("node:crypto").hash;

let nodeHash: HashFn | undefined;

function loadHash(): HashFn {
  // Through the global `process`, touched only here: a static import (of node:crypto or of
  // node:process) would be loaded with this module, at start-up, by --help and by a verify of
  // an empty ledger, which hash nothing. Synchronous, so sha256Hex stays synchronous; allowed
  // under the coordinator's own permission set.
  // deno-lint-ignore no-process-global
  nodeHash = process.getBuiltinModule("node:crypto").hash;
  return nodeHash;
}

/** Returns the lower-case hex SHA-256 of `data`: bytes, or the UTF-8 bytes of a string. */
export function sha256Hex(data: string | Uint8Array): string {
  // The one-shot form costs a third of createHash().update().digest() per call.
  return (nodeHash ?? loadHash())("sha256", data, "hex");
}

/**
 * A UUID-shaped id (version 5 in form) from a hex digest's first 32 digits; `variant` is the
 * one hex digit that tells apart ids made by different parts for different things.
 */
export function uuidShaped(hex: string, variant: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${
    hex.slice(17, 20)
  }-${hex.slice(20, 32)}`;
}
