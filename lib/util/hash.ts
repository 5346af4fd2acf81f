/**
 * SHA-256 in lower-case hex, synchronously.
 * @module
 */
import { hash } from "node:crypto";

/** Returns the lower-case hex SHA-256 of `data`: bytes, or the UTF-8 bytes of a string. */
export function sha256Hex(data: string | Uint8Array): string {
  // The one-shot form costs a third of createHash().update().digest() per call.
  return hash("sha256", data, "hex");
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
