/**
 * Before the daemon watches anything: the grants it needs, the config, its directories,
 * the one-instance lock and the gateway token. Each problem a restart cannot fix is said
 * once, clearly, and ends the run with {@link EXIT_STOPPED_FOR_GOOD}.
 * @module
 */
import { resolve } from "node:path";
import {
  type ProtocolChoice,
  type ResolvedToken,
  resolveToken,
  TokenError,
} from "../../gateway/mod.ts";
import { ensurePrivateDir, errorText, isPermissionError, parentDir } from "../../util/mod.ts";
import { type Config, loadConfig } from "../config.ts";
import { EXIT_FAILURE, EXIT_STOPPED_FOR_GOOD } from "../../util/mod.ts";
import { type InstanceLock, InstanceLocked, takeInstanceLock } from "./instance_lock.ts";
import type { Logger } from "../log.ts";
import type { Paths } from "../../util/mod.ts";
import { declaredSet, liveQuery, missingGrants } from "../permissions.ts";

/** What the daemon starts with. */
export interface Ready {
  /** The config, read and checked. */
  config: Config;
  /** The gateway token read at start, and where it came from. */
  token: ResolvedToken;
  /** The one-instance lock, held until the daemon stops. */
  lock: InstanceLock;
}

/** What preflight checks. */
export interface PreflightOptions {
  /** Where the coordinator's files are. */
  paths: Paths;
  /** The gateway's WebSocket URL. */
  gateway: string;
  /** The protocol asked for (or auto). */
  protocol: ProtocolChoice;
  /** Where problems are said. */
  logger: Logger;
  /** When the daemon started, ISO 8601 (written into the lock). */
  startedAt: string;
}

/**
 * Problems a restart cannot fix end the run with EXIT_STOPPED_FOR_GOOD, so that launchd
 * (KeepAlive/SuccessfulExit false) and systemd (Restart=on-failure) leave it stopped.
 */
export function stopForGood(logger: Logger, message: string): number {
  logger.error(`${message} (stopped; restarting will not help until this is fixed)`);
  return EXIT_STOPPED_FOR_GOOD;
}

/** Checks everything; returns what the daemon needs, or the exit code to stop with. */
export async function preflight(opts: PreflightOptions): Promise<Ready | { exit: number }> {
  const { paths, logger } = opts;
  // The grants are relative to the working directory: a service started elsewhere, or a
  // --state-dir or --gateway outside the set, is told exactly which grant it lacks.
  const missing = missingGrants(
    {
      cwd: Deno.cwd(),
      stateDir: paths.stateDir,
      ledger: paths.ledger,
      writeDirs: [parentDir(paths.ledger), paths.own],
      reads: [
        paths.governanceState,
        paths.config,
        ...(opts.protocol !== "legacy" ? [paths.openclawConfig] : []),
      ],
      gateway: opts.gateway,
    },
    declaredSet(),
    liveQuery,
  );
  if (missing.length > 0) {
    for (const m of missing) logger.error(m.message);
    return {
      exit: stopForGood(
        logger,
        `Cannot run: ${missing.length === 1 ? "a grant is" : "grants are"} missing (see above)`,
      ),
    };
  }
  await warnIfNotStateDir(paths, logger);

  let config: Config;
  try {
    config = (await loadConfig(paths.config)).config;
  } catch (err) {
    return { exit: stopForGood(logger, errorText(err)) };
  }

  try {
    await ensurePrivateDir(paths.own);
    await ensurePrivateDir(parentDir(paths.ledger));
  } catch (err) {
    const message =
      `Cannot create ${paths.own}: ${errorText(err)}; run the coordinator in the OpenClaw ` +
      "state directory (or pass --state-dir) with write access to audits/moses";
    if (isPermissionError(err)) return { exit: stopForGood(logger, message) };
    logger.error(message);
    return { exit: EXIT_FAILURE };
  }

  let lock: InstanceLock;
  try {
    lock = await takeInstanceLock(paths.lock, { pid: Deno.pid, startedAt: opts.startedAt });
  } catch (err) {
    if (err instanceof InstanceLocked || isPermissionError(err)) {
      return { exit: stopForGood(logger, errorText(err)) };
    }
    logger.error(errorText(err));
    return { exit: EXIT_FAILURE };
  }

  let token: ResolvedToken = { token: undefined, source: "none" };
  if (opts.protocol !== "legacy") {
    try {
      token = await resolveToken(paths.openclawConfig);
    } catch (err) {
      lock.release();
      if (err instanceof TokenError) return { exit: stopForGood(logger, err.message) };
      throw err;
    }
    if (token.warning) logger.warn(token.warning);
  }
  return { config, token, lock };
}

/** Warns when the state directory has neither openclaw.json nor audits/moses: likely the wrong one. */
async function warnIfNotStateDir(paths: Paths, logger: Logger): Promise<void> {
  for (const p of [paths.openclawConfig, parentDir(paths.ledger)]) {
    try {
      await Deno.stat(p);
      return;
    } catch {
      // Not there (or not readable): try the next sign.
    }
  }
  logger.warn(
    `${
      resolve(paths.stateDir)
    } has neither openclaw.json nor audits/moses: if this is not the OpenClaw ` +
      "state directory, stop the coordinator and start it there (the service's " +
      "WorkingDirectory); the ledger is being made here",
  );
}
