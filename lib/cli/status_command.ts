/**
 * `status`: the daemon's state as it last wrote it, and whether it runs; a health check by
 * its exit code. Loaded by the dispatcher only when `status` runs.
 * @module
 */
import { daemonLiveness } from "../service/daemon/instance_lock.ts";
import {
  formatStatus,
  type Liveness,
  livenessOf,
  parseStatus,
  type StatusReport,
} from "../service/status.ts";
import {
  errorText,
  EXIT_NO_INPUT,
  EXIT_NO_PERMISSION,
  EXIT_OK,
  EXIT_STATUS_DEGRADED,
  EXIT_STATUS_DISCONNECTED,
  EXIT_STATUS_GONE,
  EXIT_STATUS_STOPPED,
  isPermissionError,
  type Paths,
} from "../util/mod.ts";
import { denialText } from "./denial.ts";
import type { Io } from "./io.ts";

/** Runs `status`; `stateDirGiven` tells whether --state-dir was passed (for the advice). */
export async function statusCommand(
  io: Io,
  paths: Paths,
  opts: { json: boolean; stateDirGiven: boolean },
): Promise<number> {
  const { json } = opts;
  const path = paths.status;
  let lockHeld: boolean;
  try {
    lockHeld = (await daemonLiveness(paths.lock)) === "running";
  } catch (err) {
    io.err(`Cannot tell whether the daemon runs: ${denialText(err)}`);
    return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
  }
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      io.err(`Cannot read status file ${path}: ${denialText(err)}`);
      return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
    }
    if (!lockHeld) {
      io.err(
        `No status file at ${path}: the coordinator has not run in this state directory ` +
          (opts.stateDirGiven
            ? "(is --state-dir the OpenClaw state directory?)"
            : "(run status in the OpenClaw state directory, or pass --state-dir)"),
      );
      return EXIT_NO_INPUT;
    }
  }
  let report: StatusReport | undefined;
  try {
    report = text === undefined ? undefined : parseStatus(text, path);
  } catch (err) {
    io.err(errorText(err));
    return EXIT_NO_INPUT;
  }
  const liveness = livenessOf(report, lockHeld);
  if (report === undefined) {
    io.out(json ? JSON.stringify({ daemon: liveness }) : "State:          STARTING");
    return EXIT_STATUS_DISCONNECTED;
  }
  io.out(
    json
      ? JSON.stringify({ ...report, daemon: liveness }, null, 2)
      : formatStatus(report, { liveness }),
  );
  return statusExitCode(report, liveness);
}

/** `status` as a health check: 0 only when the daemon runs and is connected. */
function statusExitCode(report: StatusReport, liveness: Liveness): number {
  if (liveness === "gone") return EXIT_STATUS_GONE;
  if (liveness === "stopped") return EXIT_STATUS_STOPPED;
  if (report.state === "CONNECTED") return EXIT_OK;
  return report.state === "DEGRADED" ? EXIT_STATUS_DEGRADED : EXIT_STATUS_DISCONNECTED;
}
