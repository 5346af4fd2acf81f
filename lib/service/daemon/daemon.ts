/**
 * `run`: the daemon. Wires the parts together: sources (the gateway link) emit events, the
 * rule engine turns them into findings, the outputs (the log, the ledger writer) consume
 * them; the status model, the state persister and the process handlers look after the rest.
 * Every part is built before anything can call into it.
 * @module
 */
import {
  type EventFrame,
  FrameIntake,
  GatewayLink,
  type GatewayRequests,
  type ProtocolChoice,
} from "../../gateway/mod.ts";
import { findingIdsInTail, LedgerWriter } from "../../ledger/mod.ts";
import {
  GovernanceDriftRule,
  type GovernanceEvent,
  type RuleEngine,
  type RuleEvent,
  SEQUENCE_RULE,
  type SequenceRule,
} from "../../rules/mod.ts";
import { type Clock, errorText, systemClock } from "../../util/mod.ts";
import { VERSION } from "../../version.ts";
import { type Config, configWarnings } from "../config.ts";
import { EXIT_OK } from "../../util/mod.ts";
import {
  ABORT,
  ADMIN_SCOPE,
  covers,
  Notifier,
  PREVENT,
  preventedOutcome,
  Prevention,
  RELEASE,
  RunAborter,
  scopeNeeds,
  ScopeNegotiation,
  WRITE_SCOPE,
} from "../enforce/mod.ts";
import { FindingsOutput } from "./findings_output.ts";
import { GovernanceSource } from "./governance_source.ts";
import type { Logger } from "../log.ts";
import { LogPolicy } from "./log_policy.ts";
import { OpenClawSource } from "./openclaw_source.ts";
import type { Paths } from "../../util/mod.ts";
import { preflight, type Ready, stopForGood } from "./preflight.ts";
import { installProcessHandlers, type ProcessHandlers } from "./process_handlers.ts";
import { buildRuleEngine, lockRules } from "../rule_set.ts";
import { StatePersister } from "./state_persister.ts";
import { LedgerSource } from "./ledger_source.ts";
import { RuleDeadlines } from "./rule_deadlines.ts";
import { StatusModel, type StatusSources } from "./status_model.ts";
import { StatusFileWriter } from "./status_writer.ts";
import { ToolPolicySource, type ToolPolicySourceOptions } from "./tool_policy_source.ts";

/** Options of `run`. */
export interface RunOptions {
  /** Every file the daemon reads or writes, under the state directory. */
  paths: Paths;
  /** The gateway's WebSocket URL. */
  gateway: string;
  /** Which protocol to speak (`auto` tells them apart). */
  protocol: ProtocolChoice;
  /** Where log lines go. */
  logger: Logger;
  /** Resolves when the daemon should stop (tests); signals are handled too. */
  stopSignal?: Promise<void>;
  /** Time for every part (default: the system clock). */
  clock?: Clock;
}

/** How long the queue may take to reach the ledger at stop. */
const SHUTDOWN_FLUSH_MS = 3_000;

/** Runs the daemon until stopped; returns the process exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  const clock = opts.clock ?? systemClock;
  const ready = await preflight({ ...opts, startedAt: new Date(clock.now()).toISOString() });
  if ("exit" in ready) return ready.exit;
  try {
    return await watchUntilStopped(opts, { ...ready, clock });
  } finally {
    // However the run ends (an exception included), the state directory is free again.
    ready.lock.release();
  }
}

/** Builds the parts, watches until a stop is asked for, then stops them in order. */
async function watchUntilStopped(
  opts: RunOptions,
  ready: Omit<Ready, "lock"> & { clock: Clock },
): Promise<number> {
  const { paths, logger } = opts;
  const { config, clock } = ready;
  const governance = await governanceSource(opts, {
    clock,
    onChange: () => {
      statusFile.schedule();
      void prevention.sync();
      void governanceRead(opts.paths.governanceState, governance, clock).then(feed);
    },
  });
  // Every event the rules take goes through here, so that a rule's new deadline arms a timer;
  // events from outside the link (ledger entries, governance reads) also mark the state moved.
  const judge = (e: RuleEvent | undefined) => {
    if (e === undefined) return;
    rules.handle(aborter?.event(e) ?? e);
    deadlines.check();
  };
  const feed = (e: RuleEvent | undefined) => (judge(e), moved());
  // State and counters moved: the snapshot and the status file follow, each at its pace.
  const moved = () => {
    persister.changed();
    statusFile.countersMoved();
  };
  // Parts refer to parts built after them only in callbacks, and nothing calls back before
  // every part is built: events flow once the link starts, the writer acts once `recover` runs.
  const rules: RuleEngine = buildRuleEngine(config, {
    ledgerEntries: true,
    governance: () => governance.governance,
    onFinding: (f, e) => {
      output.accept(preventedOutcome(f, e, (s) => prevention.lockedByUs(s)), e);
      moved();
    },
  });
  const deadlines = new RuleDeadlines(rules, clock);
  const late = (): LateParts => ({ openclaw, persister, statusFile, prevention, aborter });
  const prevention = preventionFor({ config, governance, logger }, late);
  const notifier = newNotifier(config, { logger, clock, onChange: moved });
  const intake = new FrameIntake({ onEvent: judge });
  const ledgerSource = new LedgerSource({ path: paths.ledger, logger, clock, onEntry: feed });
  const writer = ledgerWriter(opts, {
    config,
    governance,
    clock,
    moved,
    // Parts built below: called only once the writer acts, when every part exists.
    late: () => ({ status, logPolicy, statusFile }),
  });
  const logPolicy = new LogPolicy({ logger, clock, droppedInAll: () => writer.dropped });
  const output = new FindingsOutput({
    writer,
    logger,
    readTailIds: () => findingIdsInTail(paths.ledger),
    ...(notifier ? { onQueued: (f) => notifier.accept(f) } : {}),
  });
  // The gateway's tool policy, read at each connect and change, judged against governance.
  const toolPolicy = toolPolicySource(config, { logger, clock, onPolicy: feed, onStatus: moved });
  const openclaw = openclawSource(opts, {
    ready,
    onEvent: (e) => {
      intake.handleDecoded({ kind: "event", event: e });
      moved();
    },
    onLive: () => {
      output.catchUpDone();
      status.caughtUp();
      statusFile.schedule();
    },
    actors: [notifier, toolPolicy, prevention],
  });
  const aborter = runAborter(config, { rules, governance, openclaw, output, clock, moved });
  const persister = statePersister(opts, {
    ready,
    rules,
    writer,
    output,
    openclaw,
    prevention,
    moved: () => statusFile.countersMoved(),
  });
  const status = new StatusModel(statusSources(opts, {
    writer,
    intake,
    rules,
    governance,
    openclaw,
    toolPolicy,
    sandbox: () => handlers.denials(),
    clock,
    config,
    notifier,
    late,
  }));
  const statusFile = statusFileWriter(opts, { status, clock });
  const handlers = installProcessHandlers({
    logger,
    ...(opts.stopSignal ? { stopSignal: opts.stopSignal } : {}),
    onRepeatedStop: () => logPolicy.alreadyStopping(),
    onDenied: () => statusFile.schedule(),
  });

  try {
    // Every part exists: now the ledger and the snapshot may call back into them.
    await recover({ writer, persister, logger, ledgerPath: paths.ledger });
    // The governance now, against the one the rules last saw (a change made while stopped),
    // and the other writers' recent entries, before the first catch-up is judged.
    judge(await governanceRead(paths.governanceState, governance, clock, "catch-up"));
    await ledgerSource.start();

    const link = openLink(opts, {
      clock,
      intake,
      persister,
      status,
      statusFile,
      logPolicy,
      openclaw,
      handlers,
    });

    logStarted(opts, config);
    link.start();
    await statusFile.flush();
    governance.start();
    persister.start();

    await handlers.stopped;
    ledgerSource.stop();
    deadlines.stop();
    return await shutdown({
      logger,
      governance,
      persister,
      link,
      output,
      writer,
      logPolicy,
      statusFile,
      status,
      aborter,
    });
  } finally {
    handlers.dispose();
    if (opts.stopSignal) handlers.removeSignalListeners();
  }
}

/**
 * The governance just read, as an event for the rules. Its identity is the file's time of
 * change and content, so a change found again after a restart is the same change.
 */
async function governanceRead(
  path: string,
  source: GovernanceSource,
  clock: Clock,
  from: "live" | "catch-up" = "live",
): Promise<GovernanceEvent> {
  let mtime = "";
  try {
    mtime = String((await Deno.stat(path)).mtime?.getTime() ?? "");
  } catch {
    // No file: MO§ES's defaults are in force.
  }
  const to = { ...source.governance.fields };
  return {
    kind: "governance",
    to,
    at: clock.now(),
    source: from,
    id: `${mtime}\n${JSON.stringify(to)}`,
  };
}

/** The OpenClaw source, asking for the scopes of what the config turned on. */
function openclawSource(opts: RunOptions, p: {
  ready: Omit<Ready, "lock"> & { clock: Clock };
  onEvent: (e: RuleEvent) => void;
  onLive: () => void;
  actors: (GatewayActor | undefined)[];
}): OpenClawSource {
  const { config, token, clock } = p.ready;
  // Listed once: the event hook runs for every frame.
  const actors = p.actors.filter((a) => a !== undefined);
  const watchers = actors.filter((a) => a.gatewayEvent !== undefined);
  return new OpenClawSource({
    scopes: new ScopeNegotiation(scopeNeeds(config)),
    paths: opts.paths,
    logger: opts.logger,
    conversationFrom: config.conversationFrom,
    token,
    clock,
    onEvent: p.onEvent,
    onLive: p.onLive,
    onConnection: (r) => {
      for (const a of actors) void a.connection(r);
    },
    onGatewayEvent: (f) => {
      for (const a of watchers) a.gatewayEvent!(f);
    },
  });
}

/** A part that acts through the gateway's connection, or follows its events. */
interface GatewayActor {
  connection(requests: GatewayRequests | undefined): unknown;
  gatewayEvent?(frame: EventFrame): void;
}

/**
 * At `enforce: abort` (OpenClaw, sequence rule on): aborts out-of-turn runs as they start;
 * their findings settle once the gateway confirmed, or not, within a bound.
 */
function runAborter(config: Config, p: {
  rules: RuleEngine;
  governance: GovernanceSource;
  openclaw: OpenClawSource;
  output: FindingsOutput;
  clock: Clock;
  moved: () => void;
}): RunAborter | undefined {
  const sequence = p.rules.rule(SEQUENCE_RULE) as SequenceRule | undefined;
  if (config.enforce !== "abort" || sequence === undefined) return undefined;
  return new RunAborter({
    outOfTurn: (c, a, now) =>
      sequence.outOfTurn(c, a, { governance: p.governance.governance, now }),
    sequence: sequence.engine.sequence,
    requests: () => p.openclaw.requests,
    notInForce: () => p.openclaw.scopes.report().off.find((o) => o.feature === ABORT)?.why,
    onFinding: (f, e, settled) => {
      // The sequence rule's own question made it: counted as the rule's finding in status.
      p.rules.countFor(SEQUENCE_RULE, f);
      p.output.accept(f, e, settled);
      // The snapshot lists what it settled as.
      void settled.then(p.moved);
    },
    clock: p.clock,
  });
}

/** The state persister: the rules' state, the pending findings and the turns counted. */
function statePersister(opts: RunOptions, p: {
  ready: { config: Config; clock: Clock };
  rules: RuleEngine;
  writer: LedgerWriter;
  output: FindingsOutput;
  openclaw: OpenClawSource;
  prevention: Prevention;
  moved: () => void;
}): StatePersister {
  const { writer, output } = p;
  return new StatePersister({
    path: opts.paths.snapshot,
    rules: p.rules,
    pending: function* () {
      yield* writer.queued();
      yield* output.inFlight();
    },
    tracker: p.openclaw.tracker,
    logger: opts.logger,
    clock: p.ready.clock,
    ttlMs: p.ready.config.conversationTtlSeconds * 1000,
    onExpired: p.moved,
    prevention: {
      snapshot: () => p.prevention.snapshot(),
      restore: (entries) => void p.prevention.restore(entries),
    },
  });
}

/**
 * enforce prevent: sessions made read-only while scout, observers' always, and given back;
 * with enforce off, what an earlier run locked is given back, which asks for operator.write.
 */
function preventionFor(
  p: { config: Config; governance: GovernanceSource; logger: Logger },
  late: () => LateParts,
): Prevention {
  const { config, governance } = p;
  const scopes = () => late().openclaw.scopes;
  return new Prevention({
    rules: () => lockRules(config, governance.governance),
    mayPatch: () => scopes().inForce(PREVENT) || scopes().inForce(RELEASE),
    admin: () => covers(late().openclaw.requests?.scopes ?? [], ADMIN_SCOPE),
    save: () => late().persister.save(),
    onChange: () => {
      late().persister.changed();
      late().statusFile.schedule();
      // All given back: the next connection asks for reading only again.
      if (config.enforce === "off" && !late().prevention.recorded) scopes().drop(RELEASE);
    },
    onRestored: () => {
      if (config.enforce === "off") scopes().need({ feature: RELEASE, scopes: [WRITE_SCOPE] });
    },
    logger: p.logger,
  });
}

/** What status shows of enforce abort. */
function abortCounts(a: RunAborter): { aborts: number; blocked: number; waiting: number } {
  return { ...a.counts, waiting: a.waiting };
}

/** Parts built after those that call them back (called only once every part exists). */
interface LateParts {
  openclaw: OpenClawSource;
  persister: StatePersister;
  statusFile: StatusFileWriter;
  prevention: Prevention;
  aborter: RunAborter | undefined;
}

/** The governance source, state.json read once. */
async function governanceSource(
  opts: RunOptions,
  p: { clock: Clock; onChange: () => void },
): Promise<GovernanceSource> {
  const { paths, logger } = opts;
  const governance = new GovernanceSource({ path: paths.governanceState, logger, ...p });
  await governance.refresh();
  return governance;
}

function logStarted(opts: RunOptions, config: Config): void {
  opts.logger.info("started", {
    version: VERSION,
    gateway: opts.gateway,
    protocol: opts.protocol,
    ledger: opts.paths.ledger,
    sequence: config.sequence.join(","),
  });
  for (const w of configWarnings(config)) opts.logger.warn(w);
}

/** The ledger writer, its problems reported through the status, the log policy and the log. */
function ledgerWriter(opts: RunOptions, p: {
  config: Config;
  governance: GovernanceSource;
  clock: Clock;
  moved: () => void;
  late: () => { status: StatusModel; logPolicy: LogPolicy; statusFile: StatusFileWriter };
}): LedgerWriter {
  const { logger, paths } = opts;
  return new LedgerWriter({
    ledgerPath: paths.ledger,
    maxPending: p.config.maxPendingViolations,
    governance: () => p.governance.governance.fields,
    clock: p.clock,
    // A callback that throws must not reach stderr raw, past --log-format.
    onCallbackError: (name, err) => logger.error(`The ${name} callback failed: ${errorText(err)}`),
    onError: (message, pending) => {
      const { status, logPolicy, statusFile } = p.late();
      status.noteError(message);
      logPolicy.writeError(message, pending);
      statusFile.schedule();
    },
    // The snapshot must stop listing these as pending soon, or a crash would rewrite them.
    onWritten: p.moved,
    onRecovered: () => {
      logger.info("ledger writable again");
      p.late().statusFile.schedule();
    },
    onTornTail: (cut) => logTornTail(logger, cut),
    onDropped: (f) => {
      p.late().logPolicy.dropped(f);
      p.late().statusFile.schedule();
    },
  });
}

function logTornTail(logger: Logger, cut: { bytes: number; offset: number; keptIn: string }) {
  logger.warn("the ledger's last line was torn (an interrupted write): cut and recorded", {
    bytes: cut.bytes,
    offset: cut.offset,
    keptIn: cut.keptIn,
  });
}

/** Where status takes its figures from. */
function statusSources(opts: RunOptions, p: {
  writer: LedgerWriter;
  intake: FrameIntake;
  rules: RuleEngine;
  governance: GovernanceSource;
  openclaw: OpenClawSource;
  toolPolicy: ToolPolicySource | undefined;
  sandbox: () => { denials: number; last?: string };
  clock: Clock;
  config: Config;
  notifier: Notifier | undefined;
  late: () => LateParts;
}): StatusSources {
  const { governance, openclaw, toolPolicy } = p;
  return {
    gateway: opts.gateway,
    protocol: opts.protocol,
    ledgerPath: opts.paths.ledger,
    writer: p.writer,
    intake: () => p.intake.counters,
    rules: p.rules,
    governance: () => ({
      governance: governance.governance,
      ...(governance.error !== undefined ? { error: governance.error } : {}),
    }),
    ...(opts.protocol !== "legacy"
      ? {
        openclaw: () => ({
          counters: openclaw.counters,
          tracker: openclaw.tracker,
          tokenSource: openclaw.tokenSource,
        }),
        acting: () => ({
          level: p.config.enforce,
          scopes: openclaw.scopes.report(),
          readOnlySessions: p.late().prevention.locked,
          ...(p.late().aborter ? { aborts: abortCounts(p.late().aborter!) } : {}),
        }),
      }
      : {}),
    ...(opts.protocol !== "legacy" && toolPolicy
      ? { toolPolicy: () => toolPolicyStatus(p.rules, toolPolicy) }
      : {}),
    sandbox: p.sandbox,
    ...(p.notifier ? { notify: () => p.notifier!.status } : {}),
    warnings: configWarnings(p.config),
    clock: p.clock,
  };
}

/**
 * The gateway's tool policy source, when the governance-drift rule is on: a rule turned off
 * costs the gateway no `config.get` (its first answer takes the gateway a second or more).
 */
function toolPolicySource(
  config: Config,
  opts: ToolPolicySourceOptions,
): ToolPolicySource | undefined {
  return config.rules.governance_drift === false ? undefined : new ToolPolicySource(opts);
}

/** The last tool-policy read, and the mismatches with governance the rule holds in force. */
function toolPolicyStatus(rules: RuleEngine, toolPolicy: ToolPolicySource) {
  const rule = rules.rule("governance_drift");
  return {
    ...toolPolicy.status,
    mismatches: rule instanceof GovernanceDriftRule ? rule.current() : [],
  };
}

/** The link to the gateway, its events handed to the parts. */
function openLink(opts: RunOptions, p: {
  clock: Clock;
  intake: FrameIntake;
  persister: StatePersister;
  status: StatusModel;
  statusFile: StatusFileWriter;
  logPolicy: LogPolicy;
  openclaw: OpenClawSource;
  handlers: ProcessHandlers;
}): GatewayLink {
  const { logger } = opts;
  const { clock, intake, persister, status, statusFile, logPolicy, openclaw, handlers } = p;
  return new GatewayLink({
    url: opts.gateway,
    protocol: opts.protocol,
    openclaw: openclaw.setup(),
    clock,
  }, {
    onLegacyFrame: (text) => {
      status.legacyFrame();
      intake.handleText(text, clock.now());
      persister.markDirty();
      statusFile.countersMoved();
    },
    onConnected: (info) => {
      status.linkUp(info);
      logPolicy.linkUp();
      logger.info("connected", {
        gateway: opts.gateway,
        protocol: info.protocol,
        protocolVersion: info.protocolVersion,
        server: info.serverVersion,
      });
      statusFile.schedule();
    },
    onDisconnected: (reason, retryInMs, planned) => {
      const wasConnected = status.linkDown(reason, retryInMs);
      logPolicy.linkDown({ reason, retryInMs, planned, wasConnected, gateway: opts.gateway });
      statusFile.schedule();
    },
    onFatal: (err) => {
      status.linkFatal(openclaw.refusalText(err));
      handlers.requestStop();
    },
    onNotice: (level, msg, fields) => logger.log(level, msg, fields),
  });
}

/** Stops every part in order, writing what is queued; returns the exit code. */
async function shutdown(p: {
  logger: Logger;
  governance: GovernanceSource;
  persister: StatePersister;
  link: GatewayLink;
  output: FindingsOutput;
  writer: LedgerWriter;
  logPolicy: LogPolicy;
  statusFile: StatusFileWriter;
  status: StatusModel;
  aborter: RunAborter | undefined;
}): Promise<number> {
  const { logger, governance, persister, link, output, writer, logPolicy, statusFile } = p;
  logger.info("stopping");
  governance.stop();
  persister.stop();
  await link.stop();
  p.aborter?.settleAll("the coordinator stopped");
  await output.settled();
  // Save first: if the flush below is cut short (a lock held elsewhere, a kill), the queued
  // findings are already in the snapshot for the next run.
  await persister.save();
  const flushed = await writer.flush(SHUTDOWN_FLUSH_MS);
  await writer.stop();
  await persister.save();
  if (!flushed) {
    logger.error("stopped with violations not yet written; they are kept in the snapshot", {
      pending: writer.pending,
    });
  }
  logPolicy.flushDrops();
  await statusFile.stop();
  if (p.status.fatal !== undefined) return stopForGood(logger, p.status.fatal);
  logger.info("stopped", { written: writer.written, pending: writer.pending });
  return EXIT_OK;
}

/** The status file, written from the status model's report. */
function statusFileWriter(
  opts: RunOptions,
  p: { status: StatusModel; clock: Clock },
): StatusFileWriter {
  const { status } = p;
  return new StatusFileWriter({
    path: opts.paths.status,
    report: (o) => status.report(o),
    changesAt: (now) => status.changesAt(now),
    logger: opts.logger,
    clock: p.clock,
  });
}

/** The notifier the config asks for, or none (`notify.channel` off). */
function newNotifier(
  config: Config,
  p: { logger: Logger; clock: Clock; onChange: () => void },
): Notifier | undefined {
  const n = config.notify;
  return n.channel === "off"
    ? undefined
    : new Notifier({ config: { ...n, channel: n.channel }, ...p });
}

/**
 * Start-up recovery. A writer killed mid-line (this one or another) leaves a torn last line
 * that would stop every append: it is cut, kept aside, and recorded. Then the snapshot's
 * pending findings are queued, less those already at the end of the ledger (written just
 * before a crash that lost the snapshot update).
 */
async function recover(parts: {
  writer: LedgerWriter;
  persister: StatePersister;
  logger: Logger;
  ledgerPath: string;
}): Promise<void> {
  const { writer, persister, logger } = parts;
  try {
    await writer.repairTornTail();
  } catch (err) {
    logger.error(`${errorText(err)}; violations are kept until the ledger can be written`);
  }
  const pending = await persister.restore();
  if (pending.length === 0) return;
  let written = new Set<string>();
  try {
    written = await findingIdsInTail(parts.ledgerPath);
  } catch (err) {
    logger.warn(`Cannot read the ledger's end to match pending violations: ${errorText(err)}`);
  }
  let already = 0;
  for (const f of pending) {
    if (written.has(f.id)) already++;
    else writer.enqueue(f);
  }
  if (already > 0) logger.info("pending violations already in the ledger", { count: already });
}
