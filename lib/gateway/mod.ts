/**
 * Sources: the gateway link, the legacy and OpenClaw protocols, recordings. Emits rule events; depends on rules and util.
 * @module
 */
export * from "./intake.ts";
export * from "./legacy.ts";
export * from "./link.ts";
export * from "./recording.ts";
export * from "./socket.ts";
export * from "./openclaw/mod.ts";
