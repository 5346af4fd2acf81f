/**
 * `replay`: recorded frames through the same intake and rules as `run`, offline. Replayed
 * findings say so in the ledger (`replay` in their object, "Replayed:" in their detail), and
 * take ids derived from the recording: replaying the same recording twice writes nothing new,
 * and an OpenClaw turn replayed and later caught up is one line.
 * @module
 */
import { FrameIntake, RecordingDecoder, RecordingLineIds } from "../gateway/mod.ts";
import { addFindingIds, appendEntries, findingEntry } from "../ledger/mod.ts";
import { type Finding, type Governance, isSequenceFinding, type Protocol } from "../rules/mod.ts";
import { buildRuleEngine, type Config, type StatusCounters } from "../service/mod.ts";

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
}

/** How to replay. */
export interface ReplayOptions {
  /** Sequence, roles and conversation field, as for `run`. */
  config: Config;
  /** The governance to judge with (fixed for the whole replay). */
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
  const rules = buildRuleEngine(opts.config, {
    governance: () => opts.governance,
    onFinding: (f) => {
      const replay = { line: lineNo };
      const finding: Finding = {
        ...f,
        detail: `Replayed (recording line ${lineNo}): ${f.detail}`,
        data: { ...f.data, replay },
      };
      const seq = isSequenceFinding(f) ? f.data : undefined;
      violations.push({
        line: lineNo,
        finding,
        conversation: f.conversation ?? "",
        agent: f.agent ?? "",
        ...(seq ? { role: seq.role, expected: seq.expected, protocol: seq.protocol } : {}),
        detail: f.detail,
      });
    },
  });
  const decoder = new RecordingDecoder(opts.config.conversationFrom);
  const ids = new RecordingLineIds();
  let lineId = "";
  const intake = new FrameIntake({
    onEvent: (e) => rules.handle(e),
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
    intake.handleText(line, now());
  }
  const seq = rules.status().sequence?.stats;
  return {
    violations,
    counters: {
      frames: intake.counters.frames,
      observations: intake.counters.events,
      violations: rules.findings,
      unknownAgents: seq?.unknownAgents ?? 0,
      notEnforced: seq?.notEnforced ?? 0,
      skipped: { ...intake.counters.skipped },
    },
    lines: lineNo,
  };
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
  const bodies = fresh.map((v) => findingEntry(v.finding, governance.fields));
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
