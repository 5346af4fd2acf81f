/**
 * `verify`: checks every line of the ledger's hash chain and reports each problem. Loaded by
 * the dispatcher only when `verify` runs.
 * @module
 */
import { type DuplicateId, verifyLedger, type VerifyReport } from "../ledger/verify.ts";
import {
  EXIT_FAILURE,
  EXIT_NO_INPUT,
  EXIT_NO_PERMISSION,
  EXIT_OK,
  isPermissionError,
} from "../util/mod.ts";
import { denialText } from "./denial.ts";
import type { Io } from "./io.ts";

const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

/** Runs `verify` on the ledger at `path`; returns the exit code (0 intact, 1 not). */
export async function verifyCommand(io: Io, path: string, json: boolean): Promise<number> {
  let report: VerifyReport;
  const showProgress = !json && io.errIsTerminal();
  let lastDraw = 0;
  try {
    report = await verifyLedger(path, {
      onProgress: (read, total) => {
        if (!showProgress || total < PROGRESS_MIN_BYTES) return;
        const now = Date.now();
        if (now - lastDraw < 200 && read < total) return;
        lastDraw = now;
        const pct = Math.floor((read / total) * 100);
        const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
        io.errRaw(`\rVerifying [${bar}] ${pct}%`);
      },
    });
  } catch (err) {
    io.err(`Cannot verify ledger ${path}: ${denialText(err)}`);
    return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
  }
  if (lastDraw > 0) io.errRaw("\r\x1b[K");
  if (json) {
    io.out(JSON.stringify(report, null, 2));
    return report.ok ? EXIT_OK : EXIT_FAILURE;
  }
  for (const p of report.problems) io.out(`line ${p.line}: ${p.kind}: ${p.message}`);
  if (report.problemCount > report.problems.length) {
    io.out(`… and ${report.problemCount - report.problems.length} more problems`);
  }
  for (const n of report.notes) io.out(`line ${n.line}: note: ${n.message}`);
  for (const d of report.duplicateIds) io.out(`note: ${duplicateText(d)}`);
  if (report.duplicateIdCount > report.duplicateIds.length) {
    io.out(`… and ${report.duplicateIdCount - report.duplicateIds.length} more repeated ids`);
  }
  if (report.ok) {
    io.out(
      `Ledger intact: ${report.entries} entries in ${path}` +
        (report.head ? `, head ${report.head}` : ""),
    );
    return EXIT_OK;
  }
  io.out(
    `Ledger broken: ${report.problemCount} problem${report.problemCount === 1 ? "" : "s"} ` +
      `in ${report.entries} entries of ${path}`,
  );
  return EXIT_FAILURE;
}

// "violation.id 3f2a9c1e… is on 2 lines: 2 and 4 (...)": the id's first 8 characters name it.
function duplicateText(d: DuplicateId): string {
  const id = d.id.length > 12 ? `${d.id.slice(0, 8)}…` : d.id;
  const more = d.count - d.lines.length;
  const lines = more > 0
    ? `${d.lines.join(", ")} and ${more} more`
    : `${d.lines.slice(0, -1).join(", ")} and ${d.lines.at(-1)}`;
  return `${d.field}.id ${id} is on ${d.count} lines: ${lines} ` +
    "(the same finding was recorded more than once; the chain does not depend on it)";
}
