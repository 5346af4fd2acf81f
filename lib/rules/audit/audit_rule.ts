/**
 * Audit before response (the coordinator SKILL's third check): every run of a governed agent
 * that gives a final answer must have the agent's own ledger entry (`audit_stub.py log
 * --agent <agent>`), written by another writer between the run's start and its answer.
 * Runs come from the gateway, entries from the ledger as they land; the two arrive in either
 * order, so a run whose entry is not there yet waits, up to the slack, for it.
 * @module
 */
import { sha256Hex, uuidShaped } from "../../util/mod.ts";
import type { LedgerEntryEvent, Protocol, RuleEvent, RunEvent } from "../event.ts";
import type { Finding } from "../finding.ts";
import { normalise } from "../roles.ts";
import type { DeferredFinding, Rule, RuleContext, RuleStats } from "../rule.ts";
import { OpenRuns, runKey } from "../open_runs.ts";

/** The id of the audit rule. */
export const AUDIT_RULE = "audit";
/** The ledger action of its findings. */
export const AUDIT_ACTION = "audit_missing";
/** The ledger key of its structured object. */
export const AUDIT_KEY = "audit";

/** The structured object of an audit finding, in the ledger under `audit`. */
export interface AuditRecord {
  /** The finding's id. */
  id: string;
  /** The conversation of the run. */
  conversation: string;
  /** The agent that answered. */
  agent: string;
  /** The name its entry was looked for under in the ledger. */
  ledger_agent: string;
  /** The run. */
  run: string;
  /** When the run started (gateway clock), ISO 8601. */
  started: string;
  /** When it gave its final answer (gateway clock), ISO 8601. */
  answered: string;
  /** The slack allowed between the clocks, ms. */
  slack_ms: number;
  /** The gateway protocol. */
  protocol: Protocol;
}

/** How the audit rule is set up. */
export interface AuditRuleOptions {
  /** Whether an agent is governed (its runs are judged). */
  governed: (agent: string) => boolean;
  /** The name an agent writes its entries under (default: its id). */
  ledgerName?: (agent: string) => string;
  /** Allowed difference between the gateway's and the writers' clocks, ms (default 2,000). */
  slackMs?: number;
  /** Entries remembered per agent (default 256). */
  entriesPerAgent?: number;
  /** Runs remembered between start and answer (default 10,000). */
  maxRuns?: number;
  /** A run not answered within this long is forgotten, ms (default 6 h). */
  runTtlMs?: number;
}

interface Waiting {
  event: RunEvent;
  ledgerAgent: string;
  startedAt: number;
  /** When the coordinator stops waiting for the entry (its clock). */
  deadline: number;
}

/** The audit-before-response rule. */
export class AuditRule implements Rule {
  /** Always {@link AUDIT_RULE}. */
  readonly id: typeof AUDIT_RULE = AUDIT_RULE;
  readonly accepts = ["run", "ledger_entry"] as const;
  readonly actions = [AUDIT_ACTION];
  readonly #o: Required<AuditRuleOptions>;
  // Ledger name -> entry times (writer's clock), ascending, bounded.
  readonly #entries = new Map<string, number[]>();
  readonly #started: OpenRuns;
  // Answered runs whose entry has not been seen yet, by run key.
  readonly #waiting = new Map<string, Waiting>();
  #judged = 0;
  #audited = 0;
  #unjudged = 0;
  #entriesSeen = 0;

  /** Creates the rule. */
  constructor(opts: AuditRuleOptions) {
    this.#o = {
      ledgerName: (a) => a,
      slackMs: 2_000,
      entriesPerAgent: 256,
      maxRuns: 10_000,
      runTtlMs: 6 * 3_600_000,
      ...opts,
    };
    this.#started = new OpenRuns(this.#o.maxRuns);
  }

  evaluate(event: RuleEvent, _ctx: RuleContext): Finding | undefined {
    if (event.kind === "ledger_entry") {
      this.#entry(event);
      return undefined;
    }
    if (event.kind !== "run" || !this.#o.governed(event.agent)) return undefined;
    const key = runKey(event);
    if (event.phase === "start") {
      this.#started.start(event);
      return undefined;
    }
    // The lifecycle's end comes just before the run's `chat` final: the start is kept for the
    // answer (a run that never answers is forgotten after runTtlMs).
    if (event.phase === "ended") return undefined;
    const start = this.#started.end(event);
    if (start === undefined) {
      // The start was not seen (the coordinator came up mid-run): nothing to measure from.
      this.#unjudged++;
      return undefined;
    }
    this.#judged++;
    const ledgerAgent = normalise(this.#o.ledgerName(event.agent));
    if (this.#hasEntry(ledgerAgent, start.startedAt, event.recordedAt)) {
      this.#audited++;
      return undefined;
    }
    // Not there yet: the agent's line may still be on its way (the ledger is read as it lands).
    this.#waiting.set(key, {
      event,
      ledgerAgent,
      startedAt: start.startedAt,
      deadline: Math.max(event.at, event.recordedAt) + this.#o.slackMs,
    });
    return undefined;
  }

  #entry(e: LedgerEntryEvent): void {
    this.#entriesSeen++;
    const name = normalise(e.agent);
    let list = this.#entries.get(name);
    if (list === undefined) this.#entries.set(name, list = []);
    // Entries land in ledger order, which is nearly time order: insert in place.
    let i = list.length;
    while (i > 0 && list[i - 1]! > e.recordedAt) i--;
    list.splice(i, 0, e.recordedAt);
    if (list.length > this.#o.entriesPerAgent) list.shift();
    for (const [key, w] of this.#waiting) {
      if (w.ledgerAgent === name && this.#inWindow(e.recordedAt, w.startedAt, w.event.recordedAt)) {
        this.#waiting.delete(key);
        this.#audited++;
      }
    }
  }

  #inWindow(t: number, from: number, to: number): boolean {
    return t >= from - this.#o.slackMs && t <= to + this.#o.slackMs;
  }

  #hasEntry(name: string, from: number, to: number): boolean {
    const list = this.#entries.get(name);
    return list !== undefined && list.some((t) => this.#inWindow(t, from, to));
  }

  expire(now: number): DeferredFinding[] {
    const out: DeferredFinding[] = [];
    for (const [key, w] of this.#waiting) {
      if (w.deadline > now) continue;
      this.#waiting.delete(key);
      out.push({ finding: this.#finding(w), event: w.event });
    }
    this.#started.expire(now, this.#o.runTtlMs);
    return out;
  }

  nextDue(): number | undefined {
    let next: number | undefined;
    for (const w of this.#waiting.values()) {
      if (next === undefined || w.deadline < next) next = w.deadline;
    }
    return next;
  }

  #finding(w: Waiting): Finding<AuditRecord> {
    const e = w.event;
    const id = findingId(e.id ?? runKey(e));
    const data: AuditRecord = {
      id,
      conversation: e.conversation,
      agent: e.agent,
      ledger_agent: w.ledgerAgent,
      run: e.run,
      started: new Date(w.startedAt).toISOString(),
      answered: new Date(e.recordedAt).toISOString(),
      slack_ms: this.#o.slackMs,
      protocol: e.protocol,
    };
    return {
      id,
      rule: AUDIT_RULE,
      action: AUDIT_ACTION,
      at: w.deadline,
      detail:
        `Audit missing in conversation ${e.conversation}: ${e.agent} answered (run ${e.run}) ` +
        `with no ledger entry of its own (agent "${w.ledgerAgent}") since the run started`,
      outcome: "logged",
      conversation: e.conversation,
      agent: e.agent,
      key: AUDIT_KEY,
      data,
    };
  }

  stats(): RuleStats {
    return {
      judged: this.#judged,
      audited: this.#audited,
      waiting: this.#waiting.size,
      unjudged: this.#unjudged,
      entriesSeen: this.#entriesSeen,
      runsOpen: this.#started.size,
    };
  }

  /** `{"entries":{agent:[t,…]},"started":[[run,agent,conversation,session,startedAt,seenAt],…]}`. */
  saveState(write: (json: string) => void): void {
    const entries: Record<string, number[]> = {};
    for (const [k, v] of this.#entries) entries[k] = v;
    // Runs waiting for their entry are kept too: a stop within the slack must not lose them.
    // The answer's text (the drift rule's) is left out: agents' text is never written.
    const waiting = [...this.#waiting].map(([key, w]) => {
      const { text: _text, ...event } = w.event;
      return [key, event, w.ledgerAgent, w.startedAt, w.deadline];
    });
    write(JSON.stringify({ entries, started: this.#started.toJSON(), waiting }));
  }

  restoreState(state: unknown): string | undefined {
    const s = state as { entries?: unknown; started?: unknown; waiting?: unknown } | null;
    if (typeof s !== "object" || s === null || Array.isArray(s)) throw new Error("not an object");
    if (typeof s.entries !== "object" || s.entries === null || Array.isArray(s.entries)) {
      throw new Error('"entries" must be an object');
    }
    for (const [agent, times] of Object.entries(s.entries as Record<string, unknown>)) {
      if (!Array.isArray(times) || !times.every((t) => typeof t === "number")) {
        throw new Error(`entries of "${agent}" are not a list of times`);
      }
      this.#entries.set(agent, (times as number[]).slice(-this.#o.entriesPerAgent));
    }
    this.#started.restore(s.started);
    for (const [i, w] of (Array.isArray(s.waiting) ? s.waiting : []).entries()) {
      const e = Array.isArray(w) ? w[1] as RunEvent : undefined;
      if (
        !Array.isArray(w) || typeof w[0] !== "string" || typeof e !== "object" || e === null ||
        e.kind !== "run" || typeof e.run !== "string" || typeof e.agent !== "string" ||
        typeof e.conversation !== "string" || typeof w[2] !== "string" ||
        typeof w[3] !== "number" || typeof w[4] !== "number"
      ) throw new Error(`waiting run ${i} is malformed`);
      this.#waiting.set(w[0], { event: e, ledgerAgent: w[2], startedAt: w[3], deadline: w[4] });
    }
    return undefined;
  }
}

function findingId(key: string): string {
  const h = sha256Hex(`audit\n${key}`);
  return uuidShaped(h, "d");
}
