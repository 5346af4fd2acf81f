/**
 * What `status` shows, kept up to date by the daemon's parts: the link's state and history,
 * and a report built from the counters of every part on demand.
 * @module
 */
import type {
  ConnectedInfo,
  IntakeCounters,
  ProtocolChoice,
  TurnTracker,
  WatchCounters,
} from "../../gateway/mod.ts";
import type { LedgerWriter } from "../../ledger/mod.ts";
import type { Governance, RuleEngine, SequenceRuleStats } from "../../rules/mod.ts";
import { type Clock, systemClock } from "../../util/mod.ts";
import { VERSION } from "../../version.ts";
import type { NotifyStatus } from "../enforce/mod.ts";
import {
  LEGACY_QUIET_MS,
  legacyQuietReason,
  type LinkState,
  type StatusReport,
  type ToolPolicyStatus,
} from "../status.ts";
import type { ScopeReport } from "../enforce/mod.ts";

/** An append blocked this long makes the state DEGRADED. */
export const BLOCKED_APPEND_MS = 2_000;

/** Where the report's figures come from. */
export interface StatusSources {
  /** The gateway's WebSocket URL. */
  gateway: string;
  /** The protocol asked for (or auto). */
  protocol: ProtocolChoice;
  /** The ledger file. */
  ledgerPath: string;
  /** The ledger writer (queue, writes, errors). */
  writer: LedgerWriter;
  /** The intake's counters. */
  intake: () => IntakeCounters;
  /** The rules and their counters. */
  rules: RuleEngine;
  /** The governance in force, and the error reading it, if any. */
  governance: () => { governance: Governance; error?: string };
  /** The OpenClaw watcher's state, when the protocol may be OpenClaw. */
  openclaw?: () => { counters: WatchCounters; tracker: TurnTracker; tokenSource: string };
  /** The enforcement level configured and the scopes behind it (OpenClaw). */
  acting?: () => {
    level: string;
    scopes: ScopeReport;
    readOnlySessions?: number;
    aborts?: { aborts: number; blocked: number; waiting: number };
  };
  /** Permission denials so far, and the last one's message. */
  sandbox: () => { denials: number; last?: string };
  /** The gateway's tool policy against governance, when read (OpenClaw). */
  toolPolicy?: () => ToolPolicyStatus;
  /** Time for uptimes and ages (default: the system clock). */
  clock?: Clock;
  /** Likely mistakes in the config, shown as they are. */
  warnings?: readonly string[];
  /** Notices to the operator, when `notify` is on. */
  notify?: () => NotifyStatus;
}

/** The link's state and the status report. */
export class StatusModel {
  readonly #src: StatusSources;
  readonly #clock: Clock;
  readonly #startedAt: string;
  #linkState: LinkState = "DISCONNECTED";
  #linkReason = "not connected yet";
  #connected: ConnectedInfo | undefined;
  #lastConnected: ConnectedInfo | undefined;
  #connectedAt: string | undefined;
  #live = false;
  #fatal: string | undefined;
  #connects = 0;
  #disconnects = 0;
  // When the legacy gateway last sent a frame (or the link came up).
  #lastLegacyFrameAt = 0;
  #lastError: { at: string; message: string } | undefined;

  /** Starts DISCONNECTED, "not connected yet". */
  constructor(src: StatusSources) {
    this.#src = src;
    this.#clock = src.clock ?? systemClock;
    this.#startedAt = new Date(this.#clock.now()).toISOString();
  }

  /** Whether the link is up now. */
  get connected(): boolean {
    return this.#linkState === "CONNECTED";
  }

  /** Why the link stopped for good, if it did. */
  get fatal(): string | undefined {
    return this.#fatal;
  }

  /** The link came up. */
  linkUp(info: ConnectedInfo): void {
    this.#connects++;
    this.#linkState = "CONNECTED";
    this.#connected = info;
    this.#lastConnected = info;
    this.#live = info.protocol === "legacy";
    this.#lastLegacyFrameAt = this.#clock.now();
    this.#connectedAt = new Date(this.#clock.now()).toISOString();
  }

  /** The link went down; returns whether it had been up. */
  linkDown(reason: string, retryInMs: number): boolean {
    const wasConnected = this.#linkState === "CONNECTED";
    if (wasConnected) this.#disconnects++;
    this.#linkState = "DISCONNECTED";
    this.#connected = undefined;
    this.#live = false;
    this.#linkReason = `${reason}; retrying in ${(retryInMs / 1000).toFixed(1)} s`;
    this.#connectedAt = undefined;
    return wasConnected;
  }

  /** The link stopped for good. */
  linkFatal(message: string): void {
    this.#fatal = message;
    this.#linkState = "DISCONNECTED";
    this.#connected = undefined;
  }

  /** The OpenClaw catch-up is done: live events flow. */
  caughtUp(): void {
    this.#live = true;
  }

  /** A legacy frame arrived. */
  legacyFrame(): void {
    this.#lastLegacyFrameAt = this.#clock.now();
  }

  /**
   * When time alone will next change the report's state or reasons, if it will: an append
   * that becomes blocked (then every few seconds while it is), a legacy link that becomes
   * quiet (then every minute while it is). Otherwise nothing is due and no timer runs.
   */
  changesAt(now: number): number | undefined {
    const due: number[] = [];
    const busy = this.#src.writer.busyFor(now);
    if (busy > 0) due.push(busy < BLOCKED_APPEND_MS ? now + BLOCKED_APPEND_MS - busy : now + 5_000);
    if (this.#linkState === "CONNECTED" && this.#connected?.protocol === "legacy") {
      const quietAt = this.#lastLegacyFrameAt + LEGACY_QUIET_MS;
      due.push(quietAt > now ? quietAt : now + 60_000);
    }
    return due.length > 0 ? Math.min(...due) : undefined;
  }

  /** Remembers an error for status (the log has it too). */
  noteError(message: string): void {
    this.#lastError = { at: new Date(this.#clock.now()).toISOString(), message };
  }

  /** The report; `final` marks the daemon STOPPED. */
  report(opts: { final?: boolean } = {}): StatusReport {
    const final = opts.final ?? false;
    const now = this.#clock.now();
    const { writer } = this.#src;
    const gov = this.#src.governance();
    const oc = this.#src.openclaw?.();
    const reasons: string[] = [];
    let state: LinkState = this.#linkState;
    if (this.#linkState !== "CONNECTED") reasons.push(this.#fatal ?? this.#linkReason);
    else if (this.#connected?.protocol === "openclaw" && !this.#live) {
      reasons.push("catching up on missed messages");
    } else if (this.#connected?.protocol === "legacy") {
      const quiet = legacyQuietReason(this.#lastLegacyFrameAt, now);
      if (quiet !== undefined) reasons.push(quiet);
    }
    if (oc && oc.counters.reconcileFailures > 0 && this.#linkState !== "CONNECTED") {
      reasons.push(
        `catch-ups failed so far: ${oc.counters.reconcileFailures} (each is retried on reconnect)`,
      );
    }
    const degrade = (reason: string) => {
      if (state === "CONNECTED") state = "DEGRADED";
      reasons.push(reason);
    };
    if (writer.failing) degrade(`ledger not writable: ${writer.lastError}`);
    const busy = writer.busyFor(now);
    if (busy >= BLOCKED_APPEND_MS) {
      degrade(
        `ledger append blocked for ${Math.round(busy / 1000)} s ` +
          "(another process holds the ledger lock, or the disk is not answering)",
      );
    }
    if (writer.dropped > 0) degrade(`${writer.dropped} violations dropped (queue full)`);
    const acting = this.#src.acting?.();
    if (acting !== undefined && this.#linkState === "CONNECTED") {
      for (const o of acting.scopes.off) degrade(`${o.feature} is not in force: ${o.why}`);
    }
    const sandbox = this.#src.sandbox();
    if (sandbox.denials > 0) {
      reasons.push(
        `the sandbox denied ${sandbox.denials} operation${sandbox.denials === 1 ? "" : "s"} ` +
          `(last: ${sandbox.last})`,
      );
    }
    if (gov.error !== undefined) reasons.push(gov.error);
    if (gov.governance.broadcast && gov.governance.reason) reasons.push(gov.governance.reason);
    // The connection now, else the last one: what the gateway was when last seen.
    const shown = this.#connected ?? this.#lastConnected;
    const intake = this.#src.intake();
    const rules = this.#src.rules.status();
    const seq = rules.sequence?.stats as SequenceRuleStats | undefined;
    return {
      version: VERSION,
      pid: Deno.pid,
      startedAt: this.#startedAt,
      updatedAt: new Date(now).toISOString(),
      state: final ? "STOPPED" : state,
      reasons,
      gateway: {
        url: this.#src.gateway,
        protocol: shown?.protocol ?? this.#src.protocol,
        ...(shown?.protocolVersion !== undefined ? { protocolVersion: shown.protocolVersion } : {}),
        ...(shown?.serverVersion ? { serverVersion: shown.serverVersion } : {}),
        ...(this.#connectedAt ? { connectedAt: this.#connectedAt } : {}),
        connects: this.#connects,
        disconnects: this.#disconnects,
        ...(oc ? { tokenSource: oc.tokenSource } : {}),
        ...(acting !== undefined && acting.scopes.asked.length > 0
          ? { scopes: { asked: [...acting.scopes.asked], held: [...acting.scopes.held] } }
          : {}),
      },
      ...(this.#lastConnected?.protocol === "openclaw" && oc
        ? {
          openclaw: {
            ...structuredClone(oc.counters),
            sessionsTracked: oc.tracker.size,
            ...(oc.tracker.caughtUpAt > 0
              ? { caughtUpAt: new Date(oc.tracker.caughtUpAt).toISOString() }
              : {}),
          },
        }
        : {}),
      enforcement: {
        enabled: !gov.governance.broadcast,
        ...(gov.governance.reason ? { reason: gov.governance.reason } : {}),
        level: acting?.level ?? "off",
        ...(acting !== undefined
          ? { inForce: [...acting.scopes.inForce], notInForce: [...acting.scopes.off] }
          : {}),
        ...(acting?.readOnlySessions ? { readOnlySessions: acting.readOnlySessions } : {}),
        ...(acting?.aborts ? { aborts: { ...acting.aborts } } : {}),
      },
      governance: {
        mode: gov.governance.fields.mode,
        posture: gov.governance.fields.posture,
        role: gov.governance.fields.role,
      },
      counters: {
        frames: intake.frames,
        observations: intake.events,
        violations: this.#src.rules.findings,
        unknownAgents: seq?.unknownAgents ?? 0,
        notEnforced: seq?.notEnforced ?? 0,
        skipped: { ...intake.skipped },
        byKind: this.#src.rules.findingsByKind(),
      },
      rules,
      ...(this.#src.toolPolicy ? { toolPolicy: this.#src.toolPolicy() } : {}),
      conversations: {
        tracked: seq?.tracked ?? 0,
        evictedIdle: seq?.evictedIdle ?? 0,
        evictedOverCap: seq?.evictedOverCap ?? 0,
      },
      ledger: {
        path: this.#src.ledgerPath,
        written: writer.written,
        pending: writer.pending,
        dropped: writer.dropped,
        ...(writer.lastWriteAt ? { lastWriteAt: new Date(writer.lastWriteAt).toISOString() } : {}),
      },
      sandbox: { denials: sandbox.denials, ...(sandbox.last ? { last: sandbox.last } : {}) },
      ...(this.#src.notify ? { notify: this.#src.notify() } : {}),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      ...(this.#src.warnings?.length ? { warnings: [...this.#src.warnings] } : {}),
    };
  }
}
