/**
 * `replay`: feeds a recording through the same rule as `run` and prints (or appends) the
 * violations. Loaded by the dispatcher only when `replay` runs.
 * @module
 */
import { resolve } from "node:path";
import {
  ConfigError,
  declaredSet,
  type DeniedContext,
  explainDenied,
  liveQuery,
  loadConfig,
  readGovernance,
} from "../service/mod.ts";
import {
  ensurePrivateDir,
  errorText,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_NO_INPUT,
  EXIT_NO_PERMISSION,
  EXIT_OK,
  isPermissionError,
  parentDir,
  type Paths,
} from "../util/mod.ts";
import type { Io } from "./io.ts";
import { type AppendedReplay, appendReplayed, readLines, replayLines } from "./replay.ts";

/** What `replay` was asked to do. */
export interface ReplayOptions {
  /** A recording's path, or "-" for standard input. */
  input: string;
  paths: Paths;
  /** The ledger to append to, when --ledger was given. */
  ledger: string | undefined;
  json: boolean;
}

/** Runs `replay`; returns the exit code. */
export async function replayCommand(io: Io, opts: ReplayOptions): Promise<number> {
  const { input, paths, ledger, json } = opts;
  const ctx: DeniedContext = { cwd: Deno.cwd(), stateDir: paths.stateDir };
  let config;
  try {
    config = (await loadConfig(paths.config)).config;
  } catch (err) {
    if (isPermissionError(err)) {
      io.err(refusalText(err, paths.config, ["read"], ctx));
      return EXIT_NO_PERMISSION;
    }
    io.err(errorText(err));
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }
  const gov = await readGovernance(paths.governanceState);
  if (gov.error) io.err(`${gov.error}; using MO§ES's default governance state`);
  let stream: ReadableStream<Uint8Array>;
  if (input === "-") {
    stream = io.stdin();
  } else {
    try {
      stream = (await Deno.open(input, { read: true })).readable;
    } catch (err) {
      if (isPermissionError(err)) {
        io.err(refusalText(err, input, ["read"], {
          ...ctx,
          fix:
            `pass the recording on standard input instead: moses-coordinator replay - < ${input}`,
        }));
        return EXIT_NO_PERMISSION;
      }
      io.err(`Cannot read recording ${input}: ${errorText(err)}`);
      return EXIT_NO_INPUT;
    }
  }
  const result = await replayLines(readLines(stream), { config, governance: gov.governance });
  let appended: AppendedReplay | undefined;
  if (ledger !== undefined && result.violations.length > 0) {
    try {
      // As run does: a state directory without audits/moses yet gets it, private.
      await ensurePrivateDir(parentDir(ledger));
      appended = await appendReplayed(ledger, result.violations, gov.governance);
    } catch (err) {
      if (isPermissionError(err)) {
        io.err(refusalText(err, ledger, ["write", "read"], {
          ...ctx,
          fix: "use a --ledger under audits/moses",
        }));
        return EXIT_NO_PERMISSION;
      }
      io.err(errorText(err));
      return EXIT_FAILURE;
    }
  }
  if (json) {
    io.out(JSON.stringify(
      {
        lines: result.lines,
        violations: result.violations.map((v) => ({
          line: v.line,
          conversation: v.conversation,
          agent: v.agent,
          role: v.role,
          expected: v.expected,
          protocol: v.protocol,
          detail: v.detail,
        })),
        counters: result.counters,
        ledgerEntries: result.ledgerEntries,
        governanceChanges: result.governanceChanges,
        toolPolicies: result.toolPolicies,
        auditJudged: result.auditJudged,
        auditUnjudged: result.auditUnjudged,
        ...(ledger !== undefined
          ? {
            ledger: {
              path: ledger,
              appended: appended?.hashes.length ?? 0,
              alreadyThere: appended?.alreadyThere ?? 0,
            },
          }
          : {}),
      },
      null,
      2,
    ));
    return EXIT_OK;
  }
  for (const v of result.violations) io.out(`line ${v.line}: ${v.detail}`);
  const c = result.counters;
  const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0) - c.skipped.duplicate;
  io.out(
    `${result.violations.length} violation${result.violations.length === 1 ? "" : "s"} in ` +
      `${c.frames} frames (${c.observations} observations, ` +
      (c.skipped.duplicate > 0 ? `${c.skipped.duplicate} repeated announcements of a turn, ` : "") +
      `${skipped} frames skipped, ` +
      `${c.unknownAgents} from agents outside the sequence` +
      `${c.notEnforced > 0 ? `, ${c.notEnforced} not checked: broadcast mode` : ""})`,
  );
  const carried = [
    ...(result.ledgerEntries > 0 ? [`${result.ledgerEntries} ledger entries`] : []),
    ...(result.governanceChanges > 0 ? [`${result.governanceChanges} governance lines`] : []),
    ...(result.toolPolicies > 0 ? [`${result.toolPolicies} tool policy lines`] : []),
  ];
  if (carried.length > 0) io.out(`The recording carried ${carried.join(" and ")}`);
  if (result.auditUnjudged > 0) {
    io.out(
      `${result.auditUnjudged} runs not judged for their agents' own entries: the recording ` +
        "holds no ledger entries (add the ledger's lines to it to judge them)",
    );
  }
  if (appended !== undefined) {
    io.out(
      `Appended ${appended.hashes.length} lines to ${ledger}` +
        (appended.alreadyThere > 0
          ? ` (${appended.alreadyThere} already in the ledger, not written again)`
          : ""),
    );
  }
  return EXIT_OK;
}

/**
 * Why an operation on `path` was refused and how to get the grant: for the sandbox, the
 * grant of `kinds` it lacks (asked live); for the file's own mode, the OS's word.
 */
function refusalText(
  err: unknown,
  path: string,
  kinds: readonly ("read" | "write")[],
  ctx: DeniedContext,
): string {
  if (isSandboxDenial(err)) {
    const abs = resolve(ctx.cwd, path);
    const kind = kinds.find((k) => liveQuery({ name: k, path: abs }) !== "granted") ?? kinds[0]!;
    return explainDenied(kind, path, ctx, declaredSet()).message;
  }
  return `Cannot ${kinds.join(" or ")} ${path}: ${errorText(err)}; give the user the ` +
    `coordinator runs as ${kinds.join(" and ")} access to it`;
}

function isSandboxDenial(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof Deno.errors.NotCapable) return true;
  }
  return false;
}
