/**
 * Decoding recorded frames of either protocol, one JSON frame per line. Pure.
 * @module
 */
import { decodeLegacyFrame } from "./legacy.ts";
import type { Decoded } from "./observation.ts";

/** Decodes a recorded frame (the legacy protocol is the only one spoken so far). */
export function decodeRecordedFrame(frame: unknown): Decoded {
  return decodeLegacyFrame(frame);
}
