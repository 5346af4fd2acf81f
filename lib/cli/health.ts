/**
 * The MO§ES ledger health figures, as `govern_loop.py resilience` defines them: fault rate,
 * fault clustering, posture changes and a verdict. Pure: fed one entry at a time.
 * @module
 */

/** Outcomes that count as faults (compared upper-cased, whole). */
export const FAULT_OUTCOMES: ReadonlySet<string> = new Set([
  "FAIL",
  "BLOCKED",
  "BLOCK",
  "DECLINED",
  "DECLINE",
  "ERROR",
]);

/** HEALTHY, CAUTION or DEGRADED. */
export type Verdict = "HEALTHY" | "CAUTION" | "DEGRADED";

/** One fault: where it is and what it said. */
export interface Fault {
  /** The ledger line, 1-based. */
  line: number;
  /** The entry's timestamp, as written. */
  timestamp: string;
  /** Who wrote it. */
  agent: string;
  /** What was done. */
  action: string;
  /** The outcome, as written. */
  outcome: string;
}

/** One change of posture between consecutive entries. */
export interface PostureChange {
  /** The line of the entry with the new posture. */
  line: number;
  /** Its timestamp. */
  timestamp: string;
  /** The posture before. */
  from: string;
  /** The posture after. */
  to: string;
}

/** The health figures. */
export interface Health {
  /** Entries counted. */
  entries: number;
  /** Entries whose outcome is a fault. */
  faults: number;
  /** faults ÷ entries (0 with no entries). */
  faultRate: number;
  /** Faults whose entry directly follows another fault's. */
  clusteredFaults: number;
  /** clusteredFaults ÷ faults (0 with no faults). */
  clustering: number;
  /** Consecutive entries whose posture differs. */
  postureChanges: number;
  /** DEGRADED: fault rate over 30 %, or over half the faults clustered with at least 2; CAUTION: over 10 %. */
  verdict: Verdict;
  /** The last five faults, oldest first. */
  lastFaults: Fault[];
  /** The last ten posture changes, oldest first. */
  lastPostureChanges: PostureChange[];
}

/** Whether an outcome is a fault. */
export function isFault(outcome: unknown): boolean {
  return typeof outcome === "string" && FAULT_OUTCOMES.has(outcome.toUpperCase());
}

/** The verdict for the figures. */
export function verdictOf(faults: number, entries: number, clusteredFaults: number): Verdict {
  const rate = entries === 0 ? 0 : faults / entries;
  if (rate > 0.3 || (clusteredFaults >= 2 && clusteredFaults > faults / 2)) return "DEGRADED";
  if (rate > 0.1) return "CAUTION";
  return "HEALTHY";
}

const LAST_FAULTS = 5;
const LAST_POSTURE_CHANGES = 10;

function text(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

/** Counts the health figures over entries fed in ledger order. */
export class HealthCounter {
  #entries = 0;
  #faults = 0;
  #clustered = 0;
  #previousWasFault = false;
  #posture: unknown = undefined;
  #postureChanges = 0;
  readonly #lastFaults: Fault[] = [];
  readonly #lastChanges: PostureChange[] = [];

  /** Counts one entry (its line, for the lists). */
  add(line: number, entry: Record<string, unknown>): void {
    const fault = isFault(entry.outcome);
    if (fault) {
      this.#faults++;
      if (this.#previousWasFault) this.#clustered++;
      this.#lastFaults.push({
        line,
        timestamp: text(entry.timestamp),
        agent: text(entry.agent),
        action: text(entry.action),
        outcome: text(entry.outcome),
      });
      if (this.#lastFaults.length > LAST_FAULTS) this.#lastFaults.shift();
    }
    this.#previousWasFault = fault;
    if (this.#entries > 0 && entry.posture !== this.#posture) {
      this.#postureChanges++;
      this.#lastChanges.push({
        line,
        timestamp: text(entry.timestamp),
        from: text(this.#posture),
        to: text(entry.posture),
      });
      if (this.#lastChanges.length > LAST_POSTURE_CHANGES) this.#lastChanges.shift();
    }
    this.#posture = entry.posture;
    this.#entries++;
  }

  /** The figures so far. */
  result(): Health {
    const entries = this.#entries;
    const faults = this.#faults;
    return {
      entries,
      faults,
      faultRate: entries === 0 ? 0 : faults / entries,
      clusteredFaults: this.#clustered,
      clustering: faults === 0 ? 0 : this.#clustered / faults,
      postureChanges: this.#postureChanges,
      verdict: verdictOf(faults, entries, this.#clustered),
      lastFaults: [...this.#lastFaults],
      lastPostureChanges: [...this.#lastChanges],
    };
  }
}
