/**
 * SHA-256 in lower-case hex, synchronously.
 * @module
 */
import { createHash } from "node:crypto";

/** Returns the lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
