/**
 * Commitment drift ("constitutional drift"): how far an agent's answer strays from what it said
 * earlier in the conversation, scored as MO§ES commitment.py scores it.
 * @module
 */
export * from "./score.ts";
export * from "./stop_words.ts";
export * from "./tokenize.ts";
export * from "./drift_rule.ts";
