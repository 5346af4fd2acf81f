/**
 * `replay`: recorded frames through the same pipeline as `run`, offline.
 * @module
 */
import type { Config } from "../service/mod.ts";
import type { Governance } from "../service/mod.ts";
import { appendEntries } from "../ledger/mod.ts";
import { Pipeline, type PipelineCounters } from "../rules/mod.ts";
import { RecordingDecoder } from "../gateway/mod.ts";
import { RoleMap } from "../rules/mod.ts";
import { SequenceEngine } from "../rules/mod.ts";
import { type Violation, violationDetail } from "../rules/mod.ts";
import { violationEntry } from "../ledger/mod.ts";

/** A violation found in a recording, with the line it came from. */
export interface ReplayedViolation extends Violation {
  line: number;
  detail: string;
}

/** What a replay found. */
export interface ReplayResult {
  violations: ReplayedViolation[];
  counters: PipelineCounters;
  lines: number;
}

/** Feeds recorded lines through the pipeline. `now` gives each frame's time. */
export async function replayLines(
  lines: AsyncIterable<string>,
  config: Config,
  governance: Governance,
  now: () => number = Date.now,
): Promise<ReplayResult> {
  const engine = new SequenceEngine(config.sequence, {
    ttlMs: config.conversationTtlSeconds * 1000,
    maxConversations: config.maxConversations,
  });
  const pipeline = new Pipeline(engine, new RoleMap(config.roles, config.sequence));
  pipeline.enforcement = { enabled: governance.enforcing, reason: governance.reason };
  const violations: ReplayedViolation[] = [];
  const decoder = new RecordingDecoder(config.conversationFrom);
  const decode = (frame: unknown) => decoder.decode(frame);
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    const v = pipeline.handleText(line, now(), decode);
    if (v) violations.push({ ...v, line: lineNo, detail: violationDetail(v) });
  }
  return { violations, counters: pipeline.counters, lines: lineNo };
}

/** Appends replayed violations to the ledger in one durable group; returns the hashes. */
export async function appendReplayed(
  ledgerPath: string,
  violations: readonly Violation[],
  governance: Governance,
): Promise<string[]> {
  const bodies = violations.map((v) => violationEntry(v, governance.fields));
  return (await appendEntries(ledgerPath, bodies)).hashes;
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
