/**
 * Sequence violations as records, and their readable detail. Pure.
 * @module
 */
import type { Protocol } from "./observation.ts";

/** A detected violation, before it is written. */
export interface Violation {
  /** A unique id, so a violation written just before a crash is not written again. */
  id: string;
  /** When it was seen, ms since the epoch. */
  at: number;
  protocol: Protocol;
  conversation: string;
  agent: string;
  role: string;
  expected: string;
  sequence: readonly string[];
}

/** The one-line human description of a violation. */
export function violationDetail(v: Violation): string {
  const who = v.agent.toLowerCase() === v.role ? v.role : `${v.agent} (${v.role})`;
  return `Sequence violation in conversation ${v.conversation}: ${who} responded, expected ${v.expected}`;
}
