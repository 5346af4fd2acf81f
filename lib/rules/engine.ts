/**
 * The rule engine: hands each event to the rules that take its kind, in the order they were
 * given, and each finding to one sink. Pure: governance and ids come from the owner.
 * @module
 */
import type { EventKind, RuleEvent } from "./event.ts";
import type { Finding } from "./finding.ts";
import type { Governance } from "./governance.ts";
import type { Rule, RuleContext, RuleStats } from "./rule.ts";

/** How a {@link RuleEngine} is set up. */
export interface RuleEngineOptions {
  /** The governance in force, read for every event. */
  governance: () => Governance;
  /** Receives every finding, in order. */
  onFinding: (finding: Finding, event: RuleEvent) => void;
  /** Ids for findings whose event has none (default: random UUIDs). */
  newId?: () => string;
}

/** Counters the engine keeps for each rule, with the rule's own. */
export interface RuleStatus {
  /** Events the rule judged. */
  evaluated: number;
  /** Findings it made. */
  findings: number;
  /** The rule's own counters. */
  stats: RuleStats;
}

/** Runs rules over events. */
export class RuleEngine {
  /** The rules, in the order they run. */
  readonly rules: readonly Rule[];
  // Rule indexes by event kind; counters by rule index.
  readonly #byKind = new Map<EventKind, number[]>();
  readonly #evaluated: number[];
  readonly #findings: number[];
  // Findings by kind (ledger action); every kind a rule declares starts at zero.
  readonly #byAction = new Map<string, number>();
  readonly #opts: RuleEngineOptions;
  readonly #ctx: RuleContext;
  #events = 0;

  /** Creates an engine over `rules` (distinct ids). */
  constructor(rules: readonly Rule[], opts: RuleEngineOptions) {
    const ids = new Set<string>();
    rules.forEach((r, i) => {
      if (ids.has(r.id)) {
        throw new RangeError(`Cannot build the rule engine: two rules have the id "${r.id}"`);
      }
      ids.add(r.id);
      for (const kind of r.accepts) {
        const list = this.#byKind.get(kind) ?? [];
        list.push(i);
        this.#byKind.set(kind, list);
      }
      for (const a of r.actions ?? []) this.#byAction.set(a, 0);
    });
    this.#evaluated = rules.map(() => 0);
    this.#findings = rules.map(() => 0);
    this.rules = [...rules];
    this.#opts = opts;
    const newId = opts.newId ?? (() => crypto.randomUUID());
    this.#ctx = {
      get governance() {
        return opts.governance();
      },
      newId,
    };
  }

  /** Events handled. */
  get events(): number {
    return this.#events;
  }

  /** Findings made, all rules together. */
  get findings(): number {
    let n = 0;
    for (const c of this.#findings) n += c;
    return n;
  }

  /** Findings by kind (ledger action): each kind a rule declares, and any other made. */
  findingsByKind(): Record<string, number> {
    return Object.fromEntries([...this.#byAction].sort(([a], [b]) => a < b ? -1 : 1));
  }

  #counted(f: Finding): void {
    this.#byAction.set(f.action, (this.#byAction.get(f.action) ?? 0) + 1);
  }

  /**
   * Counts a finding made on a rule's behalf outside {@link RuleEngine.handle} (an enforcer
   * that judges a run at its start with the rule's own question) as that rule's finding.
   */
  countFor(ruleId: string, f: Finding): void {
    const i = this.rules.findIndex((r) => r.id === ruleId);
    if (i >= 0) this.#findings[i]!++;
    this.#counted(f);
  }

  /** The rule with this id, if any. */
  rule(id: string): Rule | undefined {
    return this.rules.find((r) => r.id === id);
  }

  /** Judges one event with every rule that takes its kind; returns how many findings it made. */
  handle(event: RuleEvent): number {
    this.#events++;
    const indexes = this.#byKind.get(event.kind);
    if (indexes === undefined) return 0;
    let made = 0;
    for (const i of indexes) {
      this.#evaluated[i]!++;
      const found = this.rules[i]!.evaluate(event, this.#ctx);
      if (found === undefined) continue;
      for (const finding of Array.isArray(found) ? found : [found as Finding]) {
        this.#findings[i]!++;
        this.#counted(finding);
        made++;
        this.#opts.onFinding(finding, event);
      }
    }
    return made;
  }

  /** Lets every rule's time-bounded state expire; hands on the findings whose deadline passed. */
  expire(now: number): number {
    let made = 0;
    this.rules.forEach((r, i) => {
      const due = r.expire?.(now);
      if (!due) return;
      for (const d of due) {
        this.#findings[i]!++;
        this.#counted(d.finding);
        made++;
        this.#opts.onFinding(d.finding, d.event);
      }
    });
    return made;
  }

  /** The earliest deadline of any rule (ms), if one has any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const r of this.rules) {
      const t = r.nextDue?.();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  /** Each rule's counters, by rule id. */
  status(): Record<string, RuleStatus> {
    const out: Record<string, RuleStatus> = {};
    this.rules.forEach((r, i) => {
      out[r.id] = {
        evaluated: this.#evaluated[i]!,
        findings: this.#findings[i]!,
        stats: r.stats(),
      };
    });
    return out;
  }
}
