/**
 * `report`: what the ledger holds, counted (by action, agent, conversation, outcome, day),
 * posture changes, the MO§ES health figures, findings per day as a bar chart, and the chain
 * checked in the same pass as verify checks it.
 * @module
 */
import { COMPONENT, type Problem, verifyLedger } from "../ledger/mod.ts";
import { type Health, HealthCounter } from "./health.ts";
import { conversationOf, safe } from "./ledger_view.ts";
import { entryTime } from "./time_spec.ts";

/** Counts by one key, the largest first (at most `MAX_LISTED`), and how many keys there are. */
export interface Counts {
  /** [key, count], largest count first. */
  top: [string, number][];
  /** Distinct keys. */
  distinct: number;
}

/** What `report` found. */
export interface LedgerReport {
  /** The ledger file. */
  path: string;
  /** `--since`, ISO 8601, when given. */
  since?: string;
  /** Entries counted (those at or after `since`). */
  entries: number;
  /** The chain, checked over the whole ledger. */
  chain: { ok: boolean; entries: number; problemCount: number; problems: Problem[]; head?: string };
  /** Lines that are not entries (not JSON, not an object, not UTF-8, torn), whole ledger. */
  invalidLines: number;
  /** Counts of the entries counted, by action. */
  byAction: Counts;
  /** By agent. */
  byAgent: Counts;
  /** By conversation (the entry's own, or its finding's). */
  byConversation: Counts;
  /** By outcome. */
  byOutcome: Counts;
  /** By day (UTC), oldest first. */
  byDay: Counts;
  /** The coordinator's findings (its entries other than ledger repairs) per day, oldest first. */
  findingsPerDay: [string, number][];
  /** The health figures, as `govern_loop.py resilience` computes them. */
  health: Health;
}

const MAX_LISTED = 1000;
const MAX_PROBLEMS = 20;
const INVALID_KINDS = new Set(["not_json", "not_object", "not_utf8", "torn_tail"]);
const DAY = /^\d{4}-\d{2}-\d{2}/;

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function counts(m: Map<string, number>): Counts {
  const top = [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_LISTED);
  return { top, distinct: m.size };
}

/** Reads the ledger once: checks its chain and counts its entries at or after `since`. */
export async function buildReport(
  path: string,
  opts: { since?: number } = {},
): Promise<LedgerReport> {
  const action = new Map<string, number>();
  const agent = new Map<string, number>();
  const conversation = new Map<string, number>();
  const outcome = new Map<string, number>();
  const day = new Map<string, number>();
  const findings = new Map<string, number>();
  const health = new HealthCounter();
  let entries = 0;
  const since = opts.since;
  const verified = await verifyLedger(path, {
    onEntry: (line, e) => {
      if (since !== undefined) {
        const t = entryTime(e.timestamp);
        if (Number.isNaN(t) || t < since) return;
      }
      entries++;
      bump(action, typeof e.action === "string" ? e.action : "-");
      bump(agent, typeof e.agent === "string" ? e.agent : "-");
      bump(outcome, typeof e.outcome === "string" ? e.outcome : "-");
      const c = conversationOf(e);
      if (c !== undefined) bump(conversation, c);
      const d = typeof e.timestamp === "string" && DAY.test(e.timestamp)
        ? e.timestamp.slice(0, 10)
        : "-";
      bump(day, d);
      if (e.component === COMPONENT && e.action !== "ledger_recovered") bump(findings, d);
      health.add(line, e);
    },
  });
  return {
    path,
    ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
    entries,
    chain: {
      ok: verified.ok,
      entries: verified.entries,
      problemCount: verified.problemCount,
      problems: verified.problems.slice(0, MAX_PROBLEMS),
      ...(verified.head ? { head: verified.head } : {}),
    },
    invalidLines: verified.problems.filter((p) => INVALID_KINDS.has(p.kind)).length,
    byAction: counts(action),
    byAgent: counts(agent),
    byConversation: counts(conversation),
    byOutcome: counts(outcome),
    byDay: {
      top: [...day].sort((a, b) => (a[0] < b[0] ? -1 : 1)).slice(-MAX_LISTED),
      distinct: day.size,
    },
    findingsPerDay: [...findings].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    health: health.result(),
  };
}

const SHOWN = 10;
const BAR_WIDTH = 40;
const DAYS_CHARTED = 30;

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

function countsText(title: string, c: Counts): string[] {
  const lines = [`${title} (${c.distinct}):`];
  for (const [k, n] of c.top.slice(0, SHOWN)) lines.push(`  ${String(n).padStart(9)}  ${safe(k)}`);
  if (c.distinct > SHOWN) lines.push(`  … and ${c.distinct - SHOWN} more`);
  return lines;
}

/** A bar chart of findings per day: one bar per day, the last 30 days that have any. */
export function barChart(perDay: [string, number][], opts: { colour: boolean }): string[] {
  const days = perDay.slice(-DAYS_CHARTED);
  const max = Math.max(1, ...days.map(([, n]) => n));
  const lines = days.map(([d, n]) => {
    const bar = "█".repeat(Math.max(n > 0 ? 1 : 0, Math.round((n / max) * BAR_WIDTH)));
    return `  ${d}  ${opts.colour ? `\x1b[33m${bar}\x1b[0m` : bar} ${n}`;
  });
  if (perDay.length > days.length) lines.unshift(`  (the last ${days.length} days with findings)`);
  return lines;
}

/** The report for people. */
export function formatReport(r: LedgerReport, opts: { colour: boolean }): string {
  const h = r.health;
  const verdictColour = h.verdict === "HEALTHY" ? 32 : h.verdict === "CAUTION" ? 33 : 31;
  const verdict = opts.colour ? `\x1b[1;${verdictColour}m${h.verdict}\x1b[0m` : h.verdict;
  const c = r.chain;
  const lines = [
    `Ledger ${r.path}: ${r.entries} entries${r.since ? ` since ${r.since}` : ""}`,
    c.ok
      ? `Chain: intact (${c.entries} entries${c.head ? `, head ${c.head}` : ""})`
      : `Chain: BROKEN: ${c.problemCount} problem${c.problemCount === 1 ? "" : "s"} ` +
        "(moses-coordinator verify lists them all)",
    ...c.problems.slice(0, 5).map((p) => `  line ${p.line}: ${p.kind}: ${p.message}`),
    ...(r.invalidLines > 0 ? [`Invalid lines: ${r.invalidLines}`] : []),
    "",
    `Health: ${verdict}  fault rate ${pct(h.faultRate)} (${h.faults} of ${h.entries}), ` +
    `clustering ${pct(h.clustering)} (${h.clusteredFaults} faults right after another), ` +
    `posture changes ${h.postureChanges}`,
    ...h.lastFaults.map((f) =>
      `  fault line ${f.line}: ${safe(f.timestamp)} ${safe(f.agent)} ${safe(f.action)} ${
        safe(f.outcome)
      }`
    ),
    ...h.lastPostureChanges.map((p) =>
      `  posture line ${p.line}: ${safe(p.timestamp)} ${safe(p.from)} -> ${safe(p.to)}`
    ),
    "",
    ...countsText("By action", r.byAction),
    ...countsText("By agent", r.byAgent),
    ...countsText("By outcome", r.byOutcome),
    ...countsText("By conversation", r.byConversation),
    ...countsText("By day", { top: r.byDay.top.slice(-SHOWN), distinct: r.byDay.distinct }),
    "",
    "Findings per day:",
    ...(r.findingsPerDay.length > 0 ? barChart(r.findingsPerDay, opts) : ["  none"]),
  ];
  return lines.join("\n");
}
