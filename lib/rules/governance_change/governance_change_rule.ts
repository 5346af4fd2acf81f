/**
 * Governance changes: each change of mode, posture or role in `governance/state.json` is one
 * `governance_change` entry (from, to); a change while a governed agent's run is in progress
 * is also a `posture_drift` for that run (the run began under one governance and goes on
 * under another). Pure.
 * @module
 */
import { sha256Hex, uuidShaped } from "../../util/mod.ts";
import type { GovernanceEvent, RuleEvent } from "../event.ts";
import type { Finding } from "../finding.ts";
import type { GovernanceFields } from "../governance.ts";
import { type OpenRun, OpenRuns } from "../open_runs.ts";
import type { Rule, RuleContext, RuleStats } from "../rule.ts";

/** The id of the governance-change rule. */
export const GOVERNANCE_CHANGE_RULE = "governance";
/** The ledger action of a change. */
export const GOVERNANCE_CHANGE_ACTION = "governance_change";
/** The ledger action of a change during a run. */
export const POSTURE_DRIFT_ACTION = "posture_drift";
/** The ledger key of both findings' object. */
export const GOVERNANCE_CHANGE_KEY = "governance_change";

/** The fields a change is about. */
export const GOVERNED_FIELDS = ["mode", "posture", "role"] as const;

/** One field that changed. */
export type FieldChange = { field: string; from: unknown; to: unknown };

/** The structured object of a change (and of a drift, with the run). */
export interface GovernanceChangeRecord {
  /** The finding's id. */
  id: string;
  /** The fields that changed. */
  changes: FieldChange[];
  /** Mode, posture and role before. */
  from: { mode: unknown; posture: unknown; role: unknown };
  /** Mode, posture and role after. */
  to: { mode: unknown; posture: unknown; role: unknown };
  /** For a drift: the run in progress. */
  run?: string;
  /** For a drift: its conversation. */
  conversation?: string;
  /** For a drift: its agent. */
  agent?: string;
  /** For a drift: when the run started, ISO 8601. */
  started?: string;
}

/** The fields of a governance that changed between `from` and `to`. */
export function governanceChanges(from: GovernanceFields, to: GovernanceFields): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of GOVERNED_FIELDS) {
    if (JSON.stringify(from[f]) !== JSON.stringify(to[f])) {
      out.push({ field: f, from: from[f], to: to[f] });
    }
  }
  return out;
}

function pick(g: GovernanceFields) {
  return { mode: g.mode, posture: g.posture, role: g.role };
}

function uuidFrom(text: string): string {
  const h = sha256Hex(text);
  return uuidShaped(h, "e");
}

function describe(changes: FieldChange[]): string {
  return changes.map((c) => `${c.field} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`)
    .join(", ");
}

/** How the rule is set up. */
export interface GovernanceChangeOptions {
  /** Whether an agent is governed (its runs can drift). */
  governed: (agent: string) => boolean;
  /** Runs remembered between start and answer (default 10,000). */
  maxRuns?: number;
  /** A run not answered within this long is forgotten, ms (default 6 h). */
  runTtlMs?: number;
}

/** Records governance changes, and changes made while a governed run is in progress. */
export class GovernanceChangeRule implements Rule {
  /** Always {@link GOVERNANCE_CHANGE_RULE}. */
  readonly id: typeof GOVERNANCE_CHANGE_RULE = GOVERNANCE_CHANGE_RULE;
  readonly accepts = ["governance", "run"] as const;
  readonly actions = [GOVERNANCE_CHANGE_ACTION, POSTURE_DRIFT_ACTION];
  readonly #governed: (agent: string) => boolean;
  readonly #runs: OpenRuns;
  readonly #ttl: number;
  #changes = 0;
  #drifts = 0;
  // The governance last seen; undefined until the first read (a baseline, not a change).
  #last: GovernanceFields | undefined;

  /** Creates the rule. */
  constructor(opts: GovernanceChangeOptions) {
    this.#governed = opts.governed;
    this.#runs = new OpenRuns(opts.maxRuns ?? 10_000);
    this.#ttl = opts.runTtlMs ?? 6 * 3_600_000;
  }

  evaluate(event: RuleEvent, _ctx: RuleContext): Finding[] | undefined {
    if (event.kind === "run") {
      if (!this.#governed(event.agent)) return undefined;
      if (event.phase === "start") this.#runs.start(event);
      else this.#runs.end(event);
      return undefined;
    }
    if (event.kind !== "governance") return undefined;
    const from = this.#last;
    this.#last = { ...event.to };
    if (from === undefined) return undefined;
    const changes = governanceChanges(from, event.to);
    if (changes.length === 0) return undefined;
    this.#changes++;
    const out: Finding[] = [this.#change(event, from, changes)];
    // A change found at start happened while the coordinator was away: when is not known,
    // so no run can be said to have been in progress then.
    if (event.source === "live") {
      for (const r of this.#runs.list()) {
        this.#drifts++;
        out.push(this.#drift(event, from, changes, r));
      }
    }
    return out;
  }

  #change(
    e: GovernanceEvent,
    from: GovernanceFields,
    changes: FieldChange[],
  ): Finding<GovernanceChangeRecord> {
    const id = uuidFrom(`governance\n${e.id ?? e.at}\n${JSON.stringify(changes)}`);
    return {
      id,
      rule: GOVERNANCE_CHANGE_RULE,
      action: GOVERNANCE_CHANGE_ACTION,
      at: e.at,
      detail: `Governance changed: ${describe(changes)}` +
        (e.source === "live" ? "" : " (while the coordinator was not running)"),
      outcome: "logged",
      key: GOVERNANCE_CHANGE_KEY,
      data: { id, changes, from: pick(from), to: pick(e.to) },
    };
  }

  #drift(
    e: GovernanceEvent,
    from: GovernanceFields,
    changes: FieldChange[],
    r: OpenRun,
  ): Finding<GovernanceChangeRecord> {
    const id = uuidFrom(`drift\n${e.id ?? e.at}\n${r.session ?? r.conversation}\n${r.run}`);
    return {
      id,
      rule: GOVERNANCE_CHANGE_RULE,
      action: POSTURE_DRIFT_ACTION,
      at: e.at,
      detail: `Governance changed during a run in conversation ${r.conversation}: ${r.agent}'s ` +
        `run ${r.run} started under the old governance (${describe(changes)})`,
      outcome: "logged",
      conversation: r.conversation,
      agent: r.agent,
      key: GOVERNANCE_CHANGE_KEY,
      data: {
        id,
        changes,
        from: pick(from),
        to: pick(e.to),
        run: r.run,
        conversation: r.conversation,
        agent: r.agent,
        started: new Date(r.startedAt).toISOString(),
      },
    };
  }

  expire(now: number): void {
    this.#runs.expire(now, this.#ttl);
  }

  stats(): RuleStats {
    return { changes: this.#changes, drifts: this.#drifts, runsOpen: this.#runs.size };
  }

  /** `{"last":{mode,posture,role,session_hash},"started":[…]}`: what a restart compares with. */
  saveState(write: (json: string) => void): void {
    write(JSON.stringify({ last: this.#last ?? null, started: this.#runs.toJSON() }));
  }

  restoreState(state: unknown): string | undefined {
    const s = state as { last?: unknown; started?: unknown } | null;
    if (typeof s !== "object" || s === null || Array.isArray(s)) throw new Error("not an object");
    if (s.last !== null && (typeof s.last !== "object" || Array.isArray(s.last))) {
      throw new Error('"last" must be an object or null');
    }
    if (s.last !== null && s.last !== undefined) {
      const l = s.last as Record<string, unknown>;
      this.#last = { mode: l.mode, posture: l.posture, role: l.role, session_hash: l.session_hash };
    }
    this.#runs.restore(s.started ?? []);
    return undefined;
  }
}
