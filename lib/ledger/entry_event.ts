/**
 * Another writer's ledger line as a rule event (the audit rule's input): the daemon reads
 * them as they land, `replay` from a recording that carries them.
 * @module
 */
import { boundedId, type EventSource, type LedgerEntryEvent } from "../rules/mod.ts";
import { COMPONENT } from "./entries.ts";

/** Parses an ISO 8601 time as Python writes it (microseconds, an offset); NaN if it is not one. */
export function ledgerTime(ts: unknown): number {
  if (typeof ts !== "string") return NaN;
  // Date.parse takes milliseconds only: cut the fraction to three digits.
  return Date.parse(ts.replace(/(\.\d{3})\d+/, "$1"));
}

/**
 * A parsed ledger line as an event: `"own"` for the coordinator's own lines, `undefined` for
 * an object that is not an entry (no agent, or no readable timestamp).
 */
export function ledgerEntryEvent(
  e: Record<string, unknown>,
  seen: { at: number; source: EventSource },
): LedgerEntryEvent | "own" | undefined {
  if (e.component === COMPONENT) return "own";
  const recordedAt = ledgerTime(e.timestamp);
  if (typeof e.agent !== "string" || e.agent === "" || Number.isNaN(recordedAt)) return undefined;
  return {
    kind: "ledger_entry",
    agent: boundedId(e.agent),
    action: typeof e.action === "string" ? boundedId(e.action) : "",
    recordedAt,
    at: seen.at,
    source: seen.source,
    ...(typeof e.hash === "string" ? { id: e.hash } : {}),
  };
}
