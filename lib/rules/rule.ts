/**
 * The rule interface: a rule takes events of the kinds it names and returns findings; it
 * keeps its own state (saved in the snapshot) and its own counters (shown in status).
 * @module
 */
import type { EventKind, RuleEvent } from "./event.ts";
import type { Finding } from "./finding.ts";
import type { Governance } from "./governance.ts";

/** What a rule may read besides the event. */
export interface RuleContext {
  /** The governance in force. */
  readonly governance: Governance;
  /** A fresh id for a finding whose event has no identity. */
  newId(): string;
}

/** A finding a rule makes after its event (a deadline passed), with the event it concerns. */
export interface DeferredFinding {
  /** The finding. */
  finding: Finding;
  /** The event it was made from. */
  event: RuleEvent;
}

/** A rule's counters, for status. */
export type RuleStats = Record<string, number>;

/** One check. */
export interface Rule {
  /** Stable name: the key of its state in the snapshot and of its counters in status. */
  readonly id: string;
  /** The event kinds it takes. */
  readonly accepts: readonly EventKind[];
  /** The kinds of finding (ledger actions) it makes, so status counts each from zero. */
  readonly actions?: readonly string[];
  /** Judges one event; returns its findings (one, several), or undefined when all is well. */
  evaluate(event: RuleEvent, ctx: RuleContext): Finding | readonly Finding[] | undefined;
  /** Its counters. */
  stats(): RuleStats;
  /**
   * Writes its state as one JSON value, in pieces (large state is never held whole).
   * Rules without state leave it out.
   */
  saveState?(write: (json: string) => void): void;
  /**
   * Restores state written by {@link saveState}; throws a clear error when it cannot read it
   * (the rule then starts afresh); returns a warning when it chose to start afresh.
   */
  restoreState?(state: unknown, now: number): string | undefined;
  /**
   * Lets time-bounded state expire; returns the findings whose deadline has passed (called
   * every few seconds while anything is kept, and at {@link Rule.nextDue}).
   */
  expire?(now: number): DeferredFinding[] | void;
  /** The earliest time (ms) at which {@link Rule.expire} has a deadline to act on, if any. */
  nextDue?(): number | undefined;
}
