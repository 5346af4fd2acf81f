/**
 * The daemon's status file: what `status` shows. Written atomically by `run`.
 * @module
 */
import type { RuleStatus, SkipReason } from "../rules/mod.ts";
import type { WatchCounters } from "../gateway/mod.ts";
import { writeAll, writeFileAtomic } from "../util/mod.ts";
import type { NotifyStatus } from "./enforce/mod.ts";

/** The counters status has always shown: frames in, events, findings, and what was skipped. */
export interface StatusCounters {
  /** Frames (legacy) or turns (OpenClaw) taken in. */
  frames: number;
  /** Events they gave (agent turns). */
  observations: number;
  /** Findings of every rule. */
  violations: number;
  /** Turns of agents outside the sequence (the sequence rule). */
  unknownAgents: number;
  /** Turns the sequence rule did not check: broadcast mode. */
  notEnforced: number;
  /** Frames that gave no event, by reason. */
  skipped: Record<SkipReason, number>;
  /** Findings by kind (ledger action), every kind of the rules on, from zero. */
  byKind?: Record<string, number>;
}

/** The gateway's tool policy as last read (OpenClaw `config.get`). */
export interface ToolPolicyReadStatus {
  /** Not read yet, read, or the last read failed. */
  state: "unread" | "read" | "failed";
  /** When the last read ended, ISO 8601. */
  at?: string;
  /** SHA-256 of the policy last read (its first 16 hex digits). */
  hash?: string;
  /** Why the last read failed. */
  error?: string;
}

/** The last read, and the agents whose policy leaves mutating tools governance forbids them. */
export interface ToolPolicyStatus extends ToolPolicyReadStatus {
  /** The mismatches in force. */
  mismatches: { agent: string; because: string; allowed: string[] }[];
}

/** The connection state shown to users. */
export type LinkState = "CONNECTED" | "DEGRADED" | "DISCONNECTED" | "STOPPED";

/** Everything the status file holds. */
export interface StatusReport {
  /** The coordinator's version. */
  version: string;
  /** The daemon's process id. */
  pid: number;
  /** When the daemon started, ISO 8601. */
  startedAt: string;
  /** When this report was written, ISO 8601. */
  updatedAt: string;
  /** The connection state. */
  state: LinkState;
  /** Why the state is not a healthy CONNECTED (empty when it is). */
  reasons: string[];
  /** The gateway and the connection to it. */
  gateway: {
    url: string;
    protocol: string;
    serverVersion?: string;
    protocolVersion?: number;
    connectedAt?: string;
    connects: number;
    disconnects: number;
    /** Where the gateway token came from: env, openclaw.json, or none (never the token). */
    tokenSource?: string;
    /** The scopes asked for, and granted on the connection in use (OpenClaw). */
    scopes?: { asked: string[]; held: string[] };
  };
  /** The OpenClaw watcher's counters, when the protocol may be OpenClaw. */
  openclaw?: WatchCounters & { sessionsTracked: number; caughtUpAt?: string };
  /**
   * Whether the sequence rule applies (off in broadcast mode) and why not; the enforcement
   * level configured (`enforce`), what of it is in force, and what is not and why.
   */
  enforcement: {
    enabled: boolean;
    reason?: string;
    level?: string;
    inForce?: string[];
    notInForce?: { feature: string; why: string }[];
    /** Sessions enforce prevent made read-only and gives back (when scout ends, or with enforce off). */
    readOnlySessions?: number;
    /** enforce abort: aborts asked for, confirmed (blocked), and waiting for confirmation. */
    aborts?: { aborts: number; blocked: number; waiting: number };
  };
  /** The governance in force (from state.json, or MO§ES's defaults). */
  governance?: { mode: unknown; posture: unknown; role: unknown };
  /** What the intake and the rules counted. */
  counters: StatusCounters;
  /** Each rule's counters, by rule id. */
  rules?: Record<string, RuleStatus>;
  /** The gateway's tool policy against governance (the governance_drift rule, OpenClaw). */
  toolPolicy?: ToolPolicyStatus;
  /** Conversations the sequence rule tracks, and forgets. */
  conversations: { tracked: number; evictedIdle: number; evictedOverCap: number };
  /** The ledger and its writer's counters. */
  ledger: {
    path: string;
    written: number;
    pending: number;
    dropped: number;
    lastWriteAt?: string;
  };
  /** Operations the Deno sandbox refused (nothing the coordinator does should be refused). */
  sandbox?: { denials: number; last?: string };
  /** Notices to the operator (when `notify` is on): sent, suppressed by the interval, failed and why. */
  notify?: NotifyStatus;
  /** The last error, with when it happened (ISO 8601). */
  lastError?: { at: string; message: string };
  /** Likely mistakes in the config (a sequence role no agent holds), said at start. */
  warnings?: string[];
}

/** How long a legacy gateway may send nothing before status says so. */
export const LEGACY_QUIET_MS = 10 * 60_000;

/**
 * The status reason for a legacy gateway that has sent nothing since `lastFrameAt`, once
 * that is {@link LEGACY_QUIET_MS} or more. The legacy protocol has no heartbeat, so a quiet
 * gateway and a dead link look alike: the link stays up, and status says how long it has
 * been quiet.
 */
export function legacyQuietReason(lastFrameAt: number, now: number): string | undefined {
  const quiet = now - lastFrameAt;
  if (quiet < LEGACY_QUIET_MS) return undefined;
  return `no frame from the gateway for ${Math.floor(quiet / 60_000)} min ` +
    "(the legacy protocol has no heartbeat: a quiet gateway and a broken link look alike)";
}

/** The status file is padded with spaces to a multiple of this many bytes. */
export const STATUS_BLOCK = 16 * 1024;

/**
 * Writes the status file atomically. A full disk must not hide the DEGRADED state it
 * causes: the file is padded to a whole number of blocks (JSON allows trailing spaces), so
 * when no new file can be made, the report is written over the old one in place, into
 * blocks the file already holds, provided it fits.
 */
export async function writeStatus(path: string, report: StatusReport): Promise<void> {
  const json = new TextEncoder().encode(JSON.stringify(report, null, 2) + "\n");
  const data = padded(json, Math.ceil(json.length / STATUS_BLOCK) * STATUS_BLOCK);
  try {
    await writeFileAtomic(path, data);
  } catch (err) {
    if (!(await overwriteInPlace(path, json))) throw err;
  }
}

// `data` followed by spaces up to `size` bytes.
function padded(data: Uint8Array, size: number): Uint8Array {
  if (data.length >= size) return data;
  const out = new Uint8Array(size).fill(0x20);
  out.set(data);
  return out;
}

async function overwriteInPlace(path: string, json: Uint8Array): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true });
  } catch {
    return false;
  }
  try {
    const size = (await file.stat()).size;
    if (size < json.length) return false;
    // Covers every byte of the old report: what is not JSON is spaces.
    await writeAll(file, padded(json, size));
    return true;
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/** Parses a status file's text; throws with a clear message if it is not one. */
export function parseStatus(text: string, source: string): StatusReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot read status file ${source}: ${(err as Error).message}`);
  }
  const r = raw as Partial<StatusReport> | null;
  if (
    typeof r !== "object" || r === null || typeof r.state !== "string" ||
    typeof r.updatedAt !== "string" || typeof r.counters !== "object"
  ) {
    throw new Error(`Cannot read status file ${source}: it is not a coordinator status file`);
  }
  return r as StatusReport;
}

/** Whether the daemon runs: by its instance lock, not by the status file's age. */
export type Liveness = "running" | "stopped" | "gone";

/**
 * Whether the daemon runs, from its report and whether its instance lock is held: not
 * running, it stopped if its last report says so, else it is gone (killed, crashed).
 */
export function livenessOf(report: StatusReport | undefined, lockHeld: boolean): Liveness {
  if (lockHeld) return "running";
  return report?.state === "STOPPED" ? "stopped" : "gone";
}

/**
 * Formats a status report for people; `liveness` says whether the daemon runs (default:
 * as the report says).
 */
export function formatStatus(
  report: StatusReport,
  opts: { liveness?: Liveness } = {},
): string {
  const c = report.counters;
  const skipped = Object.entries(c.skipped).filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  const lines = [
    opts.liveness === "gone"
      ? `State:          GONE (the daemon is not running; its last report, at ${report.updatedAt}, ` +
        `said ${report.state})`
      : `State:          ${report.state}`,
  ];
  for (const r of report.reasons) lines.push(`                ${r}`);
  lines.push(
    `Gateway:        ${report.gateway.url} (${report.gateway.protocol}` +
      `${
        report.gateway.protocolVersion !== undefined ? ` v${report.gateway.protocolVersion}` : ""
      }` +
      `${report.gateway.serverVersion ? `, server ${report.gateway.serverVersion}` : ""})`,
    `Connections:    ${report.gateway.connects} made, ${report.gateway.disconnects} lost` +
      (report.gateway.tokenSource ? `; token from ${report.gateway.tokenSource}` : ""),
    `Order rule:     ${report.enforcement.enabled ? "on" : `off: ${report.enforcement.reason}`}`,
    `Enforcement:    ${enforcementText(report)}`,
    ...(report.gateway.scopes
      ? [
        `Scopes:         asked ${report.gateway.scopes.asked.join(", ")}; held ${
          report.gateway.scopes.held.join(", ") || "none (not connected)"
        }`,
      ]
      : []),
    ...(report.governance
      ? [
        `Governance:     mode ${String(report.governance.mode)}, posture ${
          String(report.governance.posture)
        }, role ${String(report.governance.role)}`,
      ]
      : []),
    `Frames:         ${c.frames} (observations ${c.observations}, skipped: ${skipped})`,
    `Violations:     ${c.violations} detected, ${report.ledger.written} written, ` +
      `${report.ledger.pending} pending, ${report.ledger.dropped} dropped`,
    ...(c.byKind && Object.keys(c.byKind).length > 0
      ? [`By kind:        ${Object.entries(c.byKind).map(([k, n]) => `${k} ${n}`).join(", ")}`]
      : []),
    `Agents ignored: ${c.unknownAgents} observations of agents outside the sequence`,
    ...Object.entries(report.rules ?? {}).map(([id, r]) =>
      `Rule ${id}:${" ".repeat(Math.max(1, 10 - id.length))}${r.evaluated} events judged, ` +
      `${r.findings} finding${r.findings === 1 ? "" : "s"}${id === "drift" ? driftLine(r) : ""}`
    ),
    `Conversations:  ${report.conversations.tracked} tracked ` +
      `(expired ${report.conversations.evictedIdle}, evicted over cap ${report.conversations.evictedOverCap})`,
    `Ledger:         ${report.ledger.path}`,
    `Process:        pid ${report.pid}, version ${report.version}, started ${report.startedAt}, ` +
      `updated ${report.updatedAt}`,
  );
  if (report.openclaw) {
    const o = report.openclaw;
    const events = Object.entries(o.events).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    const invalid = Object.entries(o.invalid ?? {}).map(([k, n]) => `${k} ${n}`).join(", ");
    lines.push(
      `OpenClaw:       events: ${events}; ${o.duplicates} repeated announcements of a turn` +
        (invalid ? `; invalid frames: ${invalid}` : ""),
      `Tool calls:     ${o.toolCalls ?? 0} judged; event gaps ${o.eventGaps ?? 0} (${
        o.eventsMissed ?? 0
      } events dropped by the gateway, each gap caught up)`,
      `Catch-up:       ${o.reconciles} done, ${o.reconcileFailures} failed, ${o.caughtUp} turns and tool calls found; ` +
        `${o.sessionsTracked} sessions tracked${
          o.caughtUpAt ? `; caught up to ${o.caughtUpAt}` : ""
        }`,
    );
  }
  if (report.toolPolicy) lines.push(toolPolicyLine(report.toolPolicy));
  if (report.sandbox && report.sandbox.denials > 0) {
    lines.push(
      `Sandbox:        ${report.sandbox.denials} operation${
        report.sandbox.denials === 1 ? "" : "s"
      } denied; last: ${report.sandbox.last}`,
    );
  }
  if (report.notify) lines.push(notifyLine(report.notify));
  if (report.lastError) {
    lines.push(`Last error:     ${report.lastError.at} ${report.lastError.message}`);
  }
  for (const w of report.warnings ?? []) lines.push(`Warning:        ${w}`);
  return lines.join("\n");
}

// The gateway's tool policy: the last read, and each mismatch with governance in force.
function toolPolicyLine(t: ToolPolicyStatus): string {
  const read = t.state === "unread"
    ? "not read yet"
    : t.state === "failed"
    ? `${t.error} (at ${t.at})`
    : `read ${t.at} (sha256 ${t.hash}…)`;
  const m = t.mismatches;
  const against = m.length === 0
    ? "no mismatch with governance"
    : `${m.length} mismatch${m.length === 1 ? "" : "es"} with governance: ${
      m.map((x) => `${x.agent} (${x.because}) may use ${x.allowed.join(", ")}`).join("; ")
    }`;
  return `Tool policy:    ${read}; ${against}`;
}

// The drift rule's answers scored, by level.
function driftLine(r: RuleStatus): string {
  const s = r.stats;
  return ` (answers scored ${s.scored ?? 0}: green ${s.green ?? 0}, yellow ${s.yellow ?? 0}, ` +
    `orange ${s.orange ?? 0}, red ${s.red ?? 0}; baselines ${s.baselines ?? 0}, ` +
    `without text ${s.withoutText ?? 0}, short ${s.short ?? 0}; conversations ${
      s.conversations ?? 0
    })`;
}

// The enforcement level and what of it is in force.
function enforcementText(report: StatusReport): string {
  const e = report.enforcement;
  const level = e.level ?? "off";
  const n = e.readOnlySessions ?? 0;
  const a = e.aborts;
  const ro = (n > 0 ? `; ${n} session${n === 1 ? "" : "s"} made read-only` : "") +
    (a !== undefined
      ? `; runs aborted ${a.aborts} (${a.blocked} confirmed, ${a.waiting} waiting)`
      : "");
  if (level === "off") {
    return `off (record only)${ro ? `${ro} by an earlier run, being given back` : ""}`;
  }
  const off = e.notInForce ?? [];
  if (off.length === 0) return `${level} (in force: ${(e.inForce ?? []).join(", ")})${ro}`;
  return `${level}, NOT all in force: ` + off.map((o) => `${o.feature}: ${o.why}`).join("; ") + ro;
}

function notifyLine(n: NotifyStatus): string {
  const why = Object.entries(n.failures).map(([k, v]) => `${k} ${v}`).join("; ");
  return `Notices:        ${n.channel}, one per conversation per ${n.intervalSeconds} s: ` +
    `${n.sent} sent, ${n.suppressed} within the interval, ${n.failed} failed` +
    (why ? ` (${why})` : "");
}
