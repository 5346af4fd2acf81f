/**
 * `log` and `report` as commands: their options read, the ledger opened, errors turned
 * into exit codes as the other commands do.
 * @module
 */
import {
  errorText,
  EXIT_NO_INPUT,
  EXIT_NO_PERMISSION,
  EXIT_OK,
  isPermissionError,
} from "../util/mod.ts";
import type { EntryFilter } from "./ledger_view.ts";
import { showLog } from "./log.ts";
import { buildReport, formatReport } from "./report.ts";
import { parseTimeSpec } from "./time_spec.ts";
import { UsageError } from "./usage.ts";

/** Where the ledger commands write. */
export interface LedgerIo {
  /** Writes a line to standard output. */
  out(text: string): void;
  /** Writes a line to standard error. */
  err(text: string): void;
  /** Whether to colour standard output (a terminal, and NO_COLOR not set). */
  colour(): boolean;
}

/** The parsed options `log` and `report` take. */
export type LedgerValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function text(values: LedgerValues, key: string): string | undefined {
  const v = values[key];
  return typeof v === "string" ? v : undefined;
}

/** The filter the options ask for; throws UsageError for a bad time. */
export function filterOf(values: LedgerValues, now: number): EntryFilter {
  const since = text(values, "since");
  const until = text(values, "until");
  return {
    ...(since !== undefined ? { since: parseTimeSpec(since, now) } : {}),
    ...(until !== undefined ? { until: parseTimeSpec(until, now) } : {}),
    ...(text(values, "action") !== undefined ? { action: text(values, "action") } : {}),
    ...(text(values, "agent") !== undefined ? { agent: text(values, "agent") } : {}),
    ...(text(values, "conversation") !== undefined
      ? { conversation: text(values, "conversation") }
      : {}),
    ...(text(values, "outcome") !== undefined ? { outcome: text(values, "outcome") } : {}),
  };
}

/** `-n N`: a whole number, 0 or more. */
export function linesOf(values: LedgerValues): number | undefined {
  const n = text(values, "lines");
  if (n === undefined) return undefined;
  if (!/^\d+$/.test(n)) throw new UsageError(`-n must be a whole number of lines, not ${n}`);
  return Number(n);
}

function readProblem(io: LedgerIo, path: string, err: unknown, denial: (e: unknown) => string) {
  if (err instanceof Deno.errors.NotFound) {
    io.err(
      `No ledger at ${path}: nothing has been recorded in this state directory yet ` +
        "(run this in the OpenClaw state directory, or pass --state-dir or --ledger)",
    );
    return EXIT_NO_INPUT;
  }
  io.err(`Cannot read ledger ${path}: ${isPermissionError(err) ? denial(err) : errorText(err)}`);
  return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
}

/** What `logCommand` and `reportCommand` need besides the options. */
export interface LedgerCommandContext {
  /** The ledger file. */
  path: string;
  /** Explains a sandbox denial (the grants bind to the working directory). */
  denial: (err: unknown) => string;
  /** Now, for relative times. */
  now: number;
  /** Ends `--follow` (default: SIGINT). */
  signal?: AbortSignal;
}

/** `log`: exit code. */
export async function logCommand(
  io: LedgerIo,
  values: LedgerValues,
  ctx: LedgerCommandContext,
): Promise<number> {
  const filter = filterOf(values, ctx.now);
  const n = linesOf(values);
  let follow: { signal: AbortSignal } | undefined;
  let onSigint: (() => void) | undefined;
  if (values.follow === true) {
    let signal = ctx.signal;
    if (signal === undefined) {
      const ctl = new AbortController();
      onSigint = () => ctl.abort();
      Deno.addSignalListener("SIGINT", onSigint);
      signal = ctl.signal;
    }
    follow = { signal };
  }
  try {
    await showLog(io, {
      path: ctx.path,
      filter,
      json: values.json === true,
      colour: values.json !== true && io.colour(),
      ...(n !== undefined ? { n } : {}),
      ...(follow ? { follow } : {}),
    });
  } catch (err) {
    return readProblem(io, ctx.path, err, ctx.denial);
  } finally {
    if (onSigint) Deno.removeSignalListener("SIGINT", onSigint);
  }
  return EXIT_OK;
}

/** `report`: exit code (0 even when the chain is broken: `verify` is the check that fails). */
export async function reportCommand(
  io: LedgerIo,
  values: LedgerValues,
  ctx: LedgerCommandContext,
): Promise<number> {
  const since = text(values, "since");
  const sinceMs = since !== undefined ? parseTimeSpec(since, ctx.now) : undefined;
  let report;
  try {
    report = await buildReport(ctx.path, sinceMs !== undefined ? { since: sinceMs } : {});
  } catch (err) {
    return readProblem(io, ctx.path, err, ctx.denial);
  }
  io.out(
    values.json === true
      ? JSON.stringify(report, null, 2)
      : formatReport(report, { colour: io.colour() }),
  );
  return EXIT_OK;
}
