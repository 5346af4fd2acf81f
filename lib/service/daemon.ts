/**
 * `run`: the daemon. Wires the link, the pipeline, the ledger writer, the status
 * file and the snapshot together, and stops cleanly on SIGTERM/SIGINT.
 * @module
 */
import { type Config, loadConfig } from "./config.ts";
import { DEFAULT_GOVERNANCE, type Governance, readGovernance } from "./governance.ts";
import { decodeLegacyFrame } from "../gateway/mod.ts";
import {
  type ConnectedInfo,
  GatewayLink,
  GatewayRefused,
  type ProtocolChoice,
} from "../gateway/mod.ts";
import { type DeviceIdentity, loadOrCreateIdentity, saveDeviceToken } from "../gateway/mod.ts";
import { type ResolvedToken, resolveToken, TokenError } from "../gateway/mod.ts";
import { newWatchCounters, type TurnSource } from "../gateway/mod.ts";
import { SCOPES, type Turn, turnViolationId } from "../gateway/mod.ts";
import { sha256Hex } from "../util/mod.ts";
import { boundedId } from "../rules/mod.ts";
import { TurnTracker } from "../gateway/mod.ts";
import type { Violation } from "../rules/mod.ts";
import type { Logger } from "./log.ts";
import type { Paths } from "./paths.ts";
import { Pipeline } from "../rules/mod.ts";
import { RoleMap } from "../rules/mod.ts";
import { SequenceEngine } from "../rules/mod.ts";
import { loadSnapshot, saveSnapshot } from "./snapshot.ts";
import { idsInTail } from "../ledger/mod.ts";
import {
  legacyQuietReason,
  type LinkState,
  STATUS_INTERVAL_MS,
  type StatusReport,
  writeStatus,
} from "./status.ts";
import { ensurePrivateDir, errorText, isPermissionError, parentDir } from "../util/mod.ts";
import { violationDetail } from "../rules/mod.ts";
import { LedgerWriter } from "../ledger/mod.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_STOPPED_FOR_GOOD } from "./exit_codes.ts";
import { VERSION } from "../version.ts";
import { declaredSet, liveQuery, missingGrants } from "./permissions.ts";
import { resolve } from "node:path";

/** Options of `run`. */
export interface RunOptions {
  paths: Paths;
  gateway: string;
  protocol: ProtocolChoice;
  logger: Logger;
  /** Resolves when the daemon should stop (tests); signals are handled too. */
  stopSignal?: Promise<void>;
}

const GOVERNANCE_REFRESH_MS = 1_000;
const SNAPSHOT_INTERVAL_MS = 5_000;
const SHUTDOWN_FLUSH_MS = 3_000;
const FAILURE_LOG_INTERVAL_MS = 10 * 60_000;
const BLOCKED_APPEND_MS = 2_000;
const DROP_LOG_INTERVAL_MS = 10_000;

/** Runs the daemon until stopped; returns the process exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  const { paths, logger } = opts;

  // Problems a restart cannot fix end the run with EXIT_STOPPED_FOR_GOOD, so that launchd
  // (KeepAlive/SuccessfulExit false) and systemd (Restart=on-failure) leave it stopped.
  const stopForGood = (message: string): number => {
    logger.error(`${message} (stopped; restarting will not help until this is fixed)`);
    return EXIT_STOPPED_FOR_GOOD;
  };

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
    return stopForGood(
      `Cannot run: ${missing.length === 1 ? "a grant is" : "grants are"} missing (see above)`,
    );
  }
  await warnIfNotStateDir(paths, logger);

  let config: Config;
  try {
    config = (await loadConfig(paths.config)).config;
  } catch (err) {
    return stopForGood(errorText(err));
  }

  try {
    await ensurePrivateDir(paths.own);
    await ensurePrivateDir(parentDir(paths.ledger));
  } catch (err) {
    const message =
      `Cannot create ${paths.own}: ${errorText(err)}; run the coordinator in the OpenClaw ` +
      "state directory (or pass --state-dir) with write access to audits/moses";
    if (isPermissionError(err)) return stopForGood(message);
    logger.error(message);
    return EXIT_FAILURE;
  }

  let token: ResolvedToken = { token: undefined, source: "none" };
  if (opts.protocol !== "legacy") {
    try {
      token = await resolveToken(paths.openclawConfig);
    } catch (err) {
      if (err instanceof TokenError) return stopForGood(err.message);
      throw err;
    }
    if (token.warning) logger.warn(token.warning);
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
  let sandboxDenials = 0;
  let lastDenial: string | undefined;
  const noteError = (message: string) => {
    lastError = { at: new Date().toISOString(), message };
  };

  // Drops since the last drop line, while a burst of them is being counted.
  let dropsUnlogged: number | undefined;
  let dropLogTimer: ReturnType<typeof setTimeout> | undefined;
  const logDrops = () => {
    clearTimeout(dropLogTimer);
    dropLogTimer = undefined;
    if (dropsUnlogged !== undefined && dropsUnlogged > 0) {
      logger.error(`${dropsUnlogged} more violations dropped: too many waiting to be written`, {
        droppedInAll: writer.dropped,
      });
    }
    dropsUnlogged = undefined;
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
    onTornTail: (cut) => {
      logger.warn("the ledger's last line was torn (an interrupted write): cut and recorded", {
        bytes: cut.bytes,
        offset: cut.offset,
        keptIn: cut.keptIn,
      });
    },
    onDropped: (v) => {
      // Each violation was logged when seen; the first drop of a burst is an error at once,
      // the rest are counted into one line: an error line per drop would be written at
      // once, each, just when the coordinator is furthest behind.
      if (dropsUnlogged === undefined) {
        logger.error(
          "violation dropped: too many waiting to be written (maxPendingViolations); " +
            "it is in the log above but not in the ledger",
          { conversation: v.conversation, agent: v.agent },
        );
        dropsUnlogged = 0;
        dropLogTimer = setTimeout(logDrops, DROP_LOG_INTERVAL_MS);
      } else dropsUnlogged++;
      scheduleStatus();
    },
  });

  // A writer killed mid-line (this one or another) leaves a torn last line that would stop
  // every append: cut it at start, keep it aside, and record the cut in the ledger.
  try {
    await writer.repairTornTail();
  } catch (err) {
    logger.error(`${errorText(err)}; violations are kept until the ledger can be written`);
  }

  const loaded = await loadSnapshot(paths.snapshot, Date.now());
  if (loaded.error !== undefined) {
    logger.warn(
      `${loaded.error}${loaded.movedTo ? `; moved aside to ${loaded.movedTo}` : ""}; ` +
        "starting with no conversation state",
    );
  }
  const tracker = new TurnTracker();
  if (loaded.snapshot?.turns) tracker.restore(loaded.snapshot.turns);
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
  // When the legacy gateway last sent a frame (or the link came up).
  let lastLegacyFrameAt = 0;
  let linkReason = "not connected yet";
  let connected: ConnectedInfo | undefined;
  let lastConnected: ConnectedInfo | undefined;
  let live = false;
  let fatal: string | undefined;
  const watchCounters = newWatchCounters();
  let connectedAt: string | undefined;
  let connects = 0;
  let disconnects = 0;
  let failedAttempts = 0;
  let quietUntil = 0;
  let lastFailureLog = 0;

  const report = (final = false): StatusReport => {
    const reasons: string[] = [];
    let state: LinkState = linkState;
    if (linkState !== "CONNECTED") reasons.push(fatal ?? linkReason);
    else if (connected?.protocol === "openclaw" && !live) {
      reasons.push("catching up on missed messages");
    } else if (connected?.protocol === "legacy") {
      const quiet = legacyQuietReason(lastLegacyFrameAt, Date.now());
      if (quiet !== undefined) reasons.push(quiet);
    }
    if (watchCounters.reconcileFailures > 0 && linkState !== "CONNECTED") {
      reasons.push(
        `catch-ups failed so far: ${watchCounters.reconcileFailures} (each is retried on reconnect)`,
      );
    }
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
    if (sandboxDenials > 0) {
      reasons.push(
        `the sandbox denied ${sandboxDenials} operation${sandboxDenials === 1 ? "" : "s"} ` +
          `(last: ${lastDenial})`,
      );
    }
    if (governanceError !== undefined) reasons.push(governanceError);
    if (!governance.enforcing && governance.reason) reasons.push(governance.reason);
    // The connection now, else the last one: what the gateway was when last seen.
    const shown = connected ?? lastConnected;
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
        protocol: shown?.protocol ?? opts.protocol,
        ...(shown?.protocolVersion !== undefined ? { protocolVersion: shown.protocolVersion } : {}),
        ...(shown?.serverVersion ? { serverVersion: shown.serverVersion } : {}),
        ...(connectedAt ? { connectedAt } : {}),
        connects,
        disconnects,
        ...(opts.protocol !== "legacy" ? { tokenSource: token.source } : {}),
      },
      ...(lastConnected?.protocol === "openclaw"
        ? {
          openclaw: {
            ...structuredClone(watchCounters),
            sessionsTracked: tracker.size,
            ...(tracker.caughtUpAt > 0
              ? { caughtUpAt: new Date(tracker.caughtUpAt).toISOString() }
              : {}),
          },
        }
        : {}),
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
      sandbox: { denials: sandboxDenials, ...(lastDenial ? { last: lastDenial } : {}) },
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
  let lastSaveMs = 0;
  const saveState = (): Promise<void> => {
    saving = saving.then(async () => {
      snapshotDirty = false;
      const began = performance.now();
      try {
        await saveSnapshot(paths.snapshot, {
          sequence: [...config.sequence],
          savedAt: Date.now(),
          conversations: engine,
          pending: writer.queued(),
          turns: tracker.snapshot(),
        });
      } catch (err) {
        snapshotDirty = true;
        logger.warn(`Cannot write state snapshot ${paths.snapshot}: ${errorText(err)}`);
      }
      lastSaveMs = performance.now() - began;
    });
    return saving;
  };
  let saveQueued = false;
  const scheduleSave = () => {
    if (saveQueued) return;
    saveQueued = true;
    // A snapshot holds the whole queue: while a burst waits to be written, saving it every
    // 200 ms would cost more than the writes. At most a tenth of the time goes to saving.
    setTimeout(() => {
      saveQueued = false;
      if (snapshotDirty) void saveState();
    }, Math.max(200, 10 * lastSaveMs));
  };

  // Violations reach the writer through one chain, in order. One found by a catch-up may
  // have been written just before a crash that lost the snapshot update: its id comes from
  // its turn, and an id already at the end of the ledger is not written again.
  let enqueueing: Promise<void> = Promise.resolve();
  const onViolation = (v: Violation, foundByCatchUp = false) => {
    enqueueing = enqueueing.then(async () => {
      if (foundByCatchUp) {
        try {
          if ((await idsInTail(paths.ledger, [v.id])).size > 0) {
            logger.info("violation already in the ledger; not written again", { id: v.id });
            return;
          }
        } catch (err) {
          logger.warn(`Cannot read the ledger's end to match a violation: ${errorText(err)}`);
        }
      }
      logger.warn(violationDetail(v), {
        event: "violation",
        conversation: v.conversation,
        agent: v.agent,
        role: v.role,
        expected: v.expected,
      });
      writer.enqueue(v);
    });
  };

  let identity: DeviceIdentity | undefined;
  const getIdentity = async (): Promise<DeviceIdentity> => {
    if (identity) return identity;
    const loadedId = await loadOrCreateIdentity(paths.device);
    if (loadedId.warning) logger.warn(loadedId.warning);
    if (loadedId.created) {
      logger.info("made a new device identity", { deviceId: loadedId.identity.deviceId });
    }
    identity = loadedId.identity;
    return identity;
  };

  const link = new GatewayLink({
    url: opts.gateway,
    protocol: opts.protocol,
    openclaw: {
      connectOptions: async () => {
        // Read for every attempt: a token changed on the gateway is picked up on reconnect.
        try {
          token = await resolveToken(paths.openclawConfig);
        } catch (err) {
          if (err instanceof TokenError) throw new GatewayRefused(err.message, "TOKEN");
          throw err;
        }
        return {
          identity: await getIdentity(),
          token: token.token,
          scopes: SCOPES,
          version: VERSION,
          platform: Deno.build.os,
          timeoutMs: 10_000,
        };
      },
      saveDeviceToken: async (t) => {
        const id = await getIdentity();
        id.deviceToken = t;
        try {
          await saveDeviceToken(paths.device, t);
          if (t !== undefined) logger.info("kept the device token the gateway issued");
        } catch (err) {
          logger.warn(`Cannot save the device token: ${errorText(err)}`);
        }
      },
      watchDeps: () => ({
        tracker,
        conversationFrom: config.conversationFrom,
        counters: watchCounters,
        onTurn: (turn: Turn, source: TurnSource) => {
          const v = pipeline.handleDecoded({
            kind: "observation",
            observation: {
              protocol: "openclaw",
              conversation: boundedId(turn.conversation),
              agent: boundedId(turn.agentId),
              id: turnViolationId(turn.sessionKey, turn.key, sha256Hex),
            },
          }, Date.now());
          snapshotDirty = true;
          scheduleSave();
          if (v === undefined) return;
          if (source === "catch-up") {
            logger.info("violation found while catching up", { session: turn.sessionKey });
          }
          onViolation(v, source === "catch-up");
        },
        onNotice: (level, msg, fields) => logger.log(level, msg, fields),
        onLive: () => {
          live = true;
          scheduleStatus();
        },
      }),
    },
  }, {
    onLegacyFrame: (text) => {
      lastLegacyFrameAt = Date.now();
      const v = pipeline.handleText(text, Date.now(), decodeLegacyFrame);
      snapshotDirty = true;
      if (v === undefined) return;
      onViolation(v);
      scheduleSave();
    },
    onConnected: (info) => {
      connects++;
      linkState = "CONNECTED";
      connected = info;
      lastConnected = info;
      live = info.protocol === "legacy";
      lastLegacyFrameAt = Date.now();
      connectedAt = new Date().toISOString();
      logger.info("connected", {
        gateway: opts.gateway,
        protocol: info.protocol,
        protocolVersion: info.protocolVersion,
        server: info.serverVersion,
      });
      scheduleStatus();
    },
    onDisconnected: (reason, retryInMs, planned) => {
      const wasConnected = linkState === "CONNECTED";
      if (wasConnected) disconnects++;
      linkState = "DISCONNECTED";
      connected = undefined;
      live = false;
      linkReason = `${reason}; retrying in ${(retryInMs / 1000).toFixed(1)} s`;
      failedAttempts = wasConnected ? 0 : failedAttempts + 1;
      // A gateway that stays down for days must not fill the log: the first failure, then
      // a reminder every ten minutes. A restart the gateway announced is not a failure.
      const now = Date.now();
      if (planned) {
        // While the gateway restarts, failing to connect is expected: no warnings for a while.
        quietUntil = now + retryInMs + 60_000;
        logger.info("gateway restarting", { reason, retryInMs });
      } else if (now < quietUntil && !wasConnected) {
        logger.info("waiting for the gateway to come back", { reason, retryInMs });
      } else if (
        wasConnected || failedAttempts === 1 || now - lastFailureLog >= FAILURE_LOG_INTERVAL_MS
      ) {
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
    onFatal: (err) => {
      fatal = err.message;
      linkState = "DISCONNECTED";
      connected = undefined;
      stopRequested();
    },
    onNotice: (level, msg, fields) => logger.log(level, msg, fields),
  });
  // Nothing the coordinator does should be refused by the sandbox. If something in the
  // process tries anyway (a bug, or a dependency reaching out), the refusal is logged and
  // counted and the daemon keeps watching; any other uncaught error still ends it (exit 1).
  const onDenied = (err: unknown, event: Event) => {
    if (!(err instanceof Deno.errors.NotCapable)) return;
    event.preventDefault();
    sandboxDenials++;
    lastDenial = err.message;
    logger.error(`The sandbox denied an operation: ${err.message}; the coordinator keeps running`, {
      event: "sandbox_denied",
    });
    scheduleStatus();
  };
  const onUncaught = (e: ErrorEvent) => onDenied(e.error, e);
  const onRejection = (e: PromiseRejectionEvent) => onDenied(e.reason, e);
  globalThis.addEventListener("error", onUncaught);
  globalThis.addEventListener("unhandledrejection", onRejection);

  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => (stopRequested = r));
  let stopping = false;
  const onSignal = () => {
    // A service manager, a launcher and a terminal may each pass the same stop on: the
    // listeners stay until the end, so a second signal cannot cut the shutdown short.
    if (stopping) logger.info("already stopping");
    stopRequested();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  opts.stopSignal?.then(onSignal);

  logger.info("started", {
    version: VERSION,
    gateway: opts.gateway,
    protocol: opts.protocol,
    ledger: paths.ledger,
    sequence: config.sequence.join(","),
  });
  link.start();
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
  stopping = true;
  logger.info("stopping");
  for (const t of timers) clearInterval(t);
  await link.stop();
  await enqueueing;
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
  logDrops();
  await flushStatus(true);
  globalThis.removeEventListener("error", onUncaught);
  globalThis.removeEventListener("unhandledrejection", onRejection);
  // The signal listeners stay: main exits with the code returned, and a signal arriving
  // in between must not turn a clean stop into a kill.
  if (fatal !== undefined) return stopForGood(fatal);
  logger.info("stopped", { written: writer.written, pending: writer.pending });
  return EXIT_OK;
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
