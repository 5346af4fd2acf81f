/**
 * `replay`: recorded frames through the same intake and rules as `run`, offline. Replayed
 * findings say so in the ledger (`replay` in their object, "Replayed:" in their detail), and
 * take ids derived from the recording: replaying the same recording twice writes nothing new,
 * and an OpenClaw turn replayed and later caught up is one line.
 * @module
 */
import {
  FrameIntake,
  RecordingDecoder,
  RecordingLineIds,
  toolPolicyEvent,
  toolPolicyOf,
} from "../gateway/mod.ts";
import { addFindingIds, appendEntries, findingEntry, ledgerEntryEvent } from "../ledger/mod.ts";
import {
  type Finding,
  type Governance,
  type GovernanceFields,
  isSequenceFinding,
  type Protocol,
  type RuleEvent,
} from "../rules/mod.ts";
import { buildRuleEngine, type Config, governanceOf, type StatusCounters } from "../service/mod.ts";

/** A finding made from a recording, with the line it came from. */
export interface ReplayedFinding {
  /** The recording's line (1-based) the finding came from. */
  line: number;
  /** The finding as written to the ledger (marked as replayed). */
  finding: Finding;
  /** The conversation it concerns ("" if none). */
  conversation: string;
  /** The agent it concerns ("" if none). */
  agent: string;
  /** Sequence findings: the agent's role. */
  role?: string;
  /** Sequence findings: the role whose turn it was. */
  expected?: string;
  /** Sequence findings: the protocol of the recording. */
  protocol?: Protocol;
  /** The rule's one-line description, without the "Replayed" prefix. */
  detail: string;
  /** The governance in force when it was found (the recording's governance lines). */
  governance: GovernanceFields;
}

/** What replay counted: the counters `status` shows for `run`. */
export type ReplayCounters = StatusCounters;

/** What a replay found. */
export interface ReplayResult {
  /** The findings, in recording order. */
  violations: ReplayedFinding[];
  /** What was counted. */
  counters: ReplayCounters;
  /** Lines read from the recording, blank ones included. */
  lines: number;
  /** Other writers' ledger entries the recording carried (the audit rule's input). */
  ledgerEntries: number;
  /** Governance lines the recording carried. */
  governanceChanges: number;
  /** Tool policy lines the recording carried (the gateway's config, for governance_drift). */
  toolPolicies: number;
  /**
   * Whether runs were judged for their agents' own entries: only when the recording carries
   * ledger entries (without them every run would look unaudited).
   */
  auditJudged: boolean;
  /** Runs that would be unaudited, not judged because the recording holds no ledger entries. */
  auditUnjudged: number;
}

/** How to replay. */
export interface ReplayOptions {
  /** Sequence, roles and conversation field, as for `run`. */
  config: Config;
  /** The governance to judge with until the recording's first governance line. */
  governance: Governance;
  /** Gives each frame's time (default: now). */
  now?: () => number;
}

/** Feeds recorded lines through the intake and the rules. */
export async function replayLines(
  lines: AsyncIterable<string>,
  opts: ReplayOptions,
): Promise<ReplayResult> {
  const now = opts.now ?? Date.now;
  const violations: ReplayedFinding[] = [];
  let lineNo = 0;
  let governance = opts.governance;
  const counts = { ledgerEntries: 0, governanceChanges: 0, toolPolicies: 0 };
  const seenAt = new WeakMap<RuleEvent, { line: number; governance: GovernanceFields }>();
  const judge = (e: RuleEvent) => {
    seenAt.set(e, { line: lineNo, governance: governance.fields });
    rules.handle(e);
  };
  let badMosesLine = 0;
  const rules = buildRuleEngine(opts.config, {
    ledgerEntries: true,
    governance: () => governance,
    // A deferred finding (made at the end) names the line of the event it was made from.
    onFinding: (f, e) =>
      violations.push(
        replayed(f, seenAt.get(e) ?? { line: lineNo, governance: governance.fields }),
      ),
  });
  const decoder = new RecordingDecoder(opts.config.conversationFrom);
  const ids = new RecordingLineIds();
  let lineId = "";
  const intake = new FrameIntake({
    onEvent: judge,
    decode: (frame, at) => {
      const d = decoder.decode(frame, at);
      if (d.kind === "event" && d.event.id === undefined) d.event.id = lineId;
      return d;
    },
  });
  for await (const line of lines) {
    lineNo++;
    lineId = ids.next(line);
    if (line.trim() === "") continue;
    let moses;
    try {
      moses = mosesLine(line, { at: now(), id: lineId, source: `recording line ${lineNo}` });
    } catch {
      badMosesLine++; // a governance or policy line that cannot be read: skipped, counted
      continue;
    }
    if (moses === undefined) {
      intake.handleText(line, now());
      continue;
    }
    if (moses.kind === "governance") {
      governance = moses.governance;
      counts.governanceChanges++;
    } else if (moses.kind === "tool_policy") counts.toolPolicies++;
    else counts.ledgerEntries++;
    judge(moses.event);
  }
  // Runs still waiting for their agent's entry: everything the recording holds has been seen.
  rules.expire(Number.MAX_SAFE_INTEGER);
  const auditJudged = counts.ledgerEntries > 0;
  const unjudged = violations.filter((v) => v.finding.action === "audit_missing");
  const seq = rules.status().sequence?.stats;
  return {
    // Without entries in the recording, "no entry" says nothing about the agents.
    violations: auditJudged ? violations : violations.filter((v) => !unjudged.includes(v)),
    counters: {
      frames: intake.counters.frames,
      observations: intake.counters.events,
      violations: rules.findings,
      unknownAgents: seq?.unknownAgents ?? 0,
      notEnforced: seq?.notEnforced ?? 0,
      skipped: {
        ...intake.counters.skipped,
        ...(badMosesLine > 0 ? { bad_moses_line: badMosesLine } : {}),
      },
    },
    lines: lineNo,
    ...counts,
    auditJudged,
    auditUnjudged: auditJudged ? 0 : unjudged.length,
  };
}

// A finding marked as replayed, with the line it came from.
function replayed(
  f: Finding,
  at: { line: number; governance: GovernanceFields },
): ReplayedFinding {
  const { line } = at;
  const finding: Finding = {
    ...f,
    detail: `Replayed (recording line ${line}): ${f.detail}`,
    data: { ...f.data, replay: { line } },
  };
  const seq = isSequenceFinding(f) ? f.data : undefined;
  return {
    line,
    finding,
    conversation: f.conversation ?? "",
    agent: f.agent ?? "",
    ...(seq ? { role: seq.role, expected: seq.expected, protocol: seq.protocol } : {}),
    detail: f.detail,
    governance: at.governance,
  };
}

/**
 * A recording line that is not a gateway frame: another writer's ledger line (an object with
 * `agent` and `timestamp` and no `type`), `{"type": "moses.governance", "state": {…}}` (the
 * content of governance/state.json from that point on), or `{"type": "moses.tool_policy",
 * "config": {…}}` (the gateway's config as `config.get` gives it, of which the tool policy is
 * read). Undefined for anything else; throws for a governance or policy line it cannot read.
 */
export function mosesLine(
  line: string,
  seen: { at: number; id: string; source: string },
): { kind: "ledger" | "tool_policy"; event: RuleEvent } | {
  kind: "governance";
  governance: Governance;
  event: RuleEvent;
} | undefined {
  // Frames carry a type; most lines are frames, and are parsed once, by the intake.
  const governanceLine = line.includes('"moses.governance"') ||
    line.includes('"moses.tool_policy"');
  if (!governanceLine && (line.includes('"type"') || !line.includes('"timestamp"'))) {
    return undefined;
  }
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const obj = o as Record<string, unknown>;
  if (obj.type === "moses.governance") {
    const governance = governanceOf(obj.state, seen.source);
    return {
      kind: "governance",
      governance,
      event: {
        kind: "governance",
        to: { ...governance.fields },
        at: seen.at,
        source: "replay",
        id: seen.id,
      },
    };
  }
  if (obj.type === "moses.tool_policy") {
    // The config itself, or a whole config.get answer (which holds it).
    const c = obj.config as Record<string, unknown> | null | undefined;
    const answer = typeof c === "object" && c !== null && ("runtimeConfig" in c || "parsed" in c)
      ? c
      : { config: c };
    const event = toolPolicyEvent(toolPolicyOf(answer), {
      at: seen.at,
      source: "replay",
    });
    return { kind: "tool_policy", event: { ...event, id: seen.id } };
  }
  if (obj.type !== undefined) return undefined;
  const event = ledgerEntryEvent(obj, { at: seen.at, source: "replay" });
  return typeof event === "object" ? { kind: "ledger", event } : undefined;
}

/** What appending replayed findings did. */
export interface AppendedReplay {
  /** The hashes of the entries written, in order. */
  hashes: string[];
  /**
   * Findings whose id the ledger already holds (the same recording replayed before, or a turn
   * `run` already judged): not written again.
   */
  alreadyThere: number;
}

/**
 * The ids of every finding in the ledger (each line's top-level objects' `id`), read line by
 * line: replay is offline, so the whole ledger is compared, not only its end.
 */
export async function ledgerIds(path: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return ids;
    throw err;
  }
  for await (const line of readLines(file.readable)) addFindingIds(line, ids);
  return ids;
}

/** Appends replayed findings not yet in the ledger, in one durable group. */
export async function appendReplayed(
  ledgerPath: string,
  violations: readonly ReplayedFinding[],
  governance: Governance,
): Promise<AppendedReplay> {
  const there = await ledgerIds(ledgerPath);
  const fresh = violations.filter((v) => !there.has(v.finding.id));
  const bodies = fresh.map((v) => findingEntry(v.finding, v.governance ?? governance.fields));
  const hashes = bodies.length > 0 ? (await appendEntries(ledgerPath, bodies)).hashes : [];
  return { hashes, alreadyThere: violations.length - fresh.length };
}

/** Splits a byte stream into lines (without their newlines). */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let carry = "";
  for await (const chunk of stream) {
    carry += decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl: number;
    while ((nl = carry.indexOf("\n", start)) >= 0) {
      yield carry.slice(start, nl).replace(/\r$/, "");
      start = nl + 1;
    }
    carry = carry.slice(start);
  }
  carry += decoder.decode();
  if (carry !== "") yield carry;
}
