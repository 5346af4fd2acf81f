/**
 * The MO§ES ledger: sealing findings into hash-chained lines, appending under the lock, verifying. Depends on rules and util.
 * @module
 */
export * from "./append.ts";
export * from "./chain.ts";
export * from "./entries.ts";
export * from "./entry_event.ts";
export * from "./pyjson.ts";
export * from "./sealer.ts";
export * from "./verify.ts";
export * from "./writer.ts";
