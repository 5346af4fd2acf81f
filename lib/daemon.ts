/**
 * `run`: the daemon. Wires the link, the pipeline, the ledger writer, the status
 * file and the snapshot together, and stops cleanly on SIGTERM/SIGINT.
 * @module
 */
import { type Config, loadConfig } from "./config.ts";
import { DEFAULT_GOVERNANCE, type Governance, readGovernance } from "./governance.ts";
import { decodeLegacyFrame } from "./legacy.ts";
import { LegacyLink, LinkPermissionError } from "./legacy_link.ts";
import type { Logger } from "./log.ts";
import type { Paths } from "./paths.ts";
import { Pipeline } from "./pipeline.ts";
import { RoleMap } from "./roles.ts";
import { SequenceEngine } from "./sequence.ts";
import { loadSnapshot, saveSnapshot } from "./snapshot.ts";
import { idsInTail } from "./ledger.ts";
import { type LinkState, STATUS_INTERVAL_MS, type StatusReport, writeStatus } from "./status.ts";
import { ensurePrivateDir, errorText, isPermissionError, parentDir } from "./fsutil.ts";
import { violationDetail } from "./violation.ts";
import { LedgerWriter } from "./writer.ts";
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_NO_PERMISSION, EXIT_OK } from "./exit_codes.ts";
import { VERSION } from "./version.ts";

/** Options of `run`. */
export interface RunOptions {
  paths: Paths;
  gateway: string;
  logger: Logger;
  /** Resolves when the daemon should stop (tests); signals are handled too. */
  stopSignal?: Promise<void>;
}

const GOVERNANCE_REFRESH_MS = 1_000;
const SNAPSHOT_INTERVAL_MS = 5_000;
const SHUTDOWN_FLUSH_MS = 3_000;
const FAILURE_LOG_INTERVAL_MS = 10 * 60_000;
const BLOCKED_APPEND_MS = 2_000;

/** Runs the daemon until stopped; returns the process exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  const { paths, logger } = opts;

  let config: Config;
  try {
    config = (await loadConfig(paths.config)).config;
  } catch (err) {
    logger.error(errorText(err));
    return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_CONFIG;
  }

  try {
    await ensurePrivateDir(paths.own);
    await ensurePrivateDir(parentDir(paths.ledger));
  } catch (err) {
    logger.error(
      `Cannot create ${paths.own}: ${errorText(err)}; run the coordinator in the OpenClaw ` +
        "state directory (or pass --state-dir) with write access to audits/moses",
    );
    return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_FAILURE;
  }

  const startedAt = new Date().toISOString();
  const engine = new SequenceEngine(config.sequence, {
    ttlMs: config.conversationTtlSeconds * 1000,
    maxConversations: config.maxConversations,
  });
  const pipeline = new Pipeline(engine, new RoleMap(config.roles, config.sequence));

  let governance: Governance = DEFAULT_GOVERNANCE;
  let governanceError: string | undefined;
  const refreshGovernance = async () => {
    const read = await readGovernance(paths.governanceState, governance);
    if (read.error !== undefined && read.error !== governanceError) {
      logger.warn(`${read.error}; keeping the last good governance state`);
    }
    governanceError = read.error;
    if (read.governance.enforcing !== governance.enforcing) {
      if (read.governance.enforcing) logger.info("sequence enforcement on");
      else logger.info("sequence enforcement off", { reason: read.governance.reason });
    }
    governance = read.governance;
    pipeline.enforcement = { enabled: governance.enforcing, reason: governance.reason };
  };
  await refreshGovernance();

  let lastError: { at: string; message: string } | undefined;
  const noteError = (message: string) => {
    lastError = { at: new Date().toISOString(), message };
  };

  let lastWriteError: string | undefined;
  let lastWriteErrorLog = 0;
  let snapshotDirty = false;
  const writer = new LedgerWriter({
    ledgerPath: paths.ledger,
    maxPending: config.maxPendingViolations,
    governance: () => governance.fields,
    onError: (message, pending) => {
      noteError(message);
      // Retries come every few seconds (every 100 ms while stopping): log a changed error
      // at once, the same one once a minute.
      const now = Date.now();
      if (message !== lastWriteError || now - lastWriteErrorLog >= 60_000) {
        lastWriteError = message;
        lastWriteErrorLog = now;
        logger.error(message, { pending });
      }
      scheduleStatus();
    },
    onWritten: () => {
      // The snapshot must stop listing these as pending soon, or a crash would rewrite them.
      snapshotDirty = true;
      scheduleSave();
    },
    onRecovered: () => {
      logger.info("ledger writable again");
      scheduleStatus();
    },
    onDropped: (v) => {
      logger.error("violation dropped: too many waiting to be written", {
        conversation: v.conversation,
        agent: v.agent,
      });
    },
  });

  const loaded = await loadSnapshot(paths.snapshot, Date.now());
  if (loaded.error !== undefined) {
    logger.warn(
      `${loaded.error}${loaded.movedTo ? `; moved aside to ${loaded.movedTo}` : ""}; ` +
        "starting with no conversation state",
    );
  }
  if (loaded.snapshot) {
    const s = loaded.snapshot;
    if (s.sequence.join("\u0000") === config.sequence.join("\u0000")) {
      engine.restore(s.conversations, Date.now());
    } else {
      logger.warn("the sequence changed since the snapshot; conversation state starts afresh");
    }
    // Pending violations may have been written just before a crash that lost the snapshot
    // update: the ids already at the end of the ledger are not written again.
    let written = new Set<string>();
    try {
      written = await idsInTail(paths.ledger, s.pending.map((v) => v.id));
    } catch (err) {
      logger.warn(`Cannot read the ledger's end to match pending violations: ${errorText(err)}`);
    }
    for (const v of s.pending) if (!written.has(v.id)) writer.enqueue(v);
    if (written.size > 0) {
      logger.info("pending violations already in the ledger", { count: written.size });
    }
    snapshotDirty = true;
  }

  let linkState: LinkState = "DISCONNECTED";
  let linkReason = "not connected yet";
  let connectedAt: string | undefined;
  let connects = 0;
  let disconnects = 0;
  let failedAttempts = 0;
  let lastFailureLog = 0;

  const report = (final = false): StatusReport => {
    const reasons: string[] = [];
    let state: LinkState = linkState;
    if (linkState !== "CONNECTED") reasons.push(linkReason);
    if (writer.failing) {
      if (state === "CONNECTED") state = "DEGRADED";
      reasons.push(`ledger not writable: ${writer.lastError}`);
    }
    const busy = writer.busyFor(Date.now());
    if (busy >= BLOCKED_APPEND_MS) {
      if (state === "CONNECTED") state = "DEGRADED";
      reasons.push(
        `ledger append blocked for ${Math.round(busy / 1000)} s ` +
          "(another process holds the ledger lock, or the disk is not answering)",
      );
    }
    if (writer.dropped > 0) {
      if (state === "CONNECTED") state = "DEGRADED";
      reasons.push(`${writer.dropped} violations dropped (queue full)`);
    }
    if (governanceError !== undefined) reasons.push(governanceError);
    if (!governance.enforcing && governance.reason) reasons.push(governance.reason);
    const stats = engine.stats();
    return {
      version: VERSION,
      pid: Deno.pid,
      startedAt,
      updatedAt: new Date().toISOString(),
      state: final ? "STOPPED" : state,
      reasons,
      gateway: {
        url: opts.gateway,
        protocol: "legacy",
        ...(connectedAt ? { connectedAt } : {}),
        connects,
        disconnects,
      },
      enforcement: {
        enabled: governance.enforcing,
        ...(governance.reason ? { reason: governance.reason } : {}),
      },
      counters: structuredClone(pipeline.counters),
      conversations: {
        tracked: stats.tracked,
        evictedIdle: stats.evictedIdle,
        evictedOverCap: stats.evictedOverCap,
      },
      ledger: {
        path: paths.ledger,
        written: writer.written,
        pending: writer.pending,
        dropped: writer.dropped,
        ...(writer.lastWriteAt ? { lastWriteAt: new Date(writer.lastWriteAt).toISOString() } : {}),
      },
      ...(lastError ? { lastError } : {}),
    };
  };

  let statusWriting: Promise<void> = Promise.resolve();
  let statusQueued = false;
  const flushStatus = (final = false): Promise<void> => {
    statusWriting = statusWriting.then(async () => {
      try {
        await writeStatus(paths.status, report(final));
      } catch (err) {
        logger.warn(`Cannot write status file ${paths.status}: ${errorText(err)}`);
      }
    });
    return statusWriting;
  };
  // Coalesce bursts of changes into one write.
  const scheduleStatus = () => {
    if (statusQueued) return;
    statusQueued = true;
    setTimeout(() => {
      statusQueued = false;
      flushStatus();
    }, 50);
  };

  // Saves run one after another: two at once would share the temporary file.
  let saving: Promise<void> = Promise.resolve();
  const saveState = (): Promise<void> => {
    saving = saving.then(async () => {
      snapshotDirty = false;
      try {
        await saveSnapshot(paths.snapshot, {
          sequence: [...config.sequence],
          savedAt: Date.now(),
          conversations: engine.snapshot(),
          pending: writer.queued(),
        });
      } catch (err) {
        snapshotDirty = true;
        logger.warn(`Cannot write state snapshot ${paths.snapshot}: ${errorText(err)}`);
      }
    });
    return saving;
  };
  let saveQueued = false;
  const scheduleSave = () => {
    if (saveQueued) return;
    saveQueued = true;
    setTimeout(() => {
      saveQueued = false;
      if (snapshotDirty) void saveState();
    }, 200);
  };

  const link = new LegacyLink(opts.gateway, {
    onFrame: (text) => {
      const now = Date.now();
      const v = pipeline.handleText(text, now, decodeLegacyFrame);
      snapshotDirty = true;
      if (v === undefined) return;
      logger.warn(violationDetail(v), {
        event: "violation",
        conversation: v.conversation,
        agent: v.agent,
        role: v.role,
        expected: v.expected,
      });
      writer.enqueue(v);
      scheduleSave();
    },
    onConnected: () => {
      connects++;
      linkState = "CONNECTED";
      connectedAt = new Date().toISOString();
      logger.info("connected", { gateway: opts.gateway, protocol: "legacy" });
      scheduleStatus();
    },
    onDisconnected: (reason, retryInMs) => {
      const wasConnected = linkState === "CONNECTED";
      if (wasConnected) disconnects++;
      linkState = "DISCONNECTED";
      linkReason = `${reason}; retrying in ${(retryInMs / 1000).toFixed(1)} s`;
      failedAttempts = wasConnected ? 0 : failedAttempts + 1;
      // A gateway that stays down for days must not fill the log: the first failure, then
      // a reminder every ten minutes.
      const now = Date.now();
      if (wasConnected || failedAttempts === 1 || now - lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
        lastFailureLog = now;
        logger.warn(wasConnected ? "disconnected" : "cannot connect", {
          gateway: opts.gateway,
          reason,
          attempts: wasConnected ? undefined : failedAttempts,
          retryInMs,
        });
      }
      connectedAt = undefined;
      scheduleStatus();
    },
  });

  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => (stopRequested = r));
  const onSignal = () => stopRequested();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  opts.stopSignal?.then(onSignal);

  try {
    link.start();
  } catch (err) {
    logger.error(errorText(err));
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await writer.stop();
    return err instanceof LinkPermissionError ? EXIT_NO_PERMISSION : EXIT_FAILURE;
  }
  logger.info("started", {
    version: VERSION,
    gateway: opts.gateway,
    ledger: paths.ledger,
    sequence: config.sequence.join(","),
  });
  await flushStatus();

  const timers = [
    setInterval(() => flushStatus(), STATUS_INTERVAL_MS),
    setInterval(() => void refreshGovernance(), GOVERNANCE_REFRESH_MS),
    setInterval(() => {
      engine.expire(Date.now());
      if (snapshotDirty) void saveState();
    }, SNAPSHOT_INTERVAL_MS),
  ];

  await stopped;
  logger.info("stopping");
  for (const t of timers) clearInterval(t);
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  await link.stop();
  // Save first: if the flush below is cut short (a lock held elsewhere, a kill), the queued
  // violations are already in the snapshot for the next run.
  await saveState();
  const flushed = await writer.flush(SHUTDOWN_FLUSH_MS);
  await writer.stop();
  await saveState();
  if (!flushed) {
    logger.error("stopped with violations not yet written; they are kept in the snapshot", {
      pending: writer.pending,
    });
  }
  await flushStatus(true);
  logger.info("stopped", { written: writer.written, pending: writer.pending });
  return EXIT_OK;
}
