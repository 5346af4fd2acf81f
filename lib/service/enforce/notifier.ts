/**
 * Notices to the operator, the I/O part: each finding new to the ledger passes the gate (one notice per
 * conversation per interval) and goes out over the gateway connection the watch hands out,
 * as an OpenClaw question (`question.request`, scope `operator.questions`) or as a
 * notification on the paired devices that offer `system.notify` (`node.invoke`, scope
 * `operator.write`). A notice that cannot go (no connection, a scope not granted, no device,
 * the gateway refused) is counted with why; nothing here throws into the daemon.
 * @module
 */
import type { GatewayRequests } from "../../gateway/mod.ts";
import type { Finding } from "../../rules/mod.ts";
import { type Clock, errorText, systemClock } from "../../util/mod.ts";
import type { NotifyConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import { type Notice, NoticeGate, noticeOf, NOTIFY_SCOPE } from "./notice.ts";
import { covers } from "./scopes.ts";

/** What status shows about notices. */
export interface NotifyStatus {
  /** The channel in use. */
  channel: "question" | "node";
  /** At most one notice per conversation in this many seconds. */
  intervalSeconds: number;
  /** Notices the gateway took. */
  sent: number;
  /** Findings with no notice because their conversation had one within the interval. */
  suppressed: number;
  /** Notices that could not go. */
  failed: number;
  /** Failed notices by why. */
  failures: Record<string, number>;
  /** The last failure, with when (ISO 8601). */
  lastFailure?: { at: string; reason: string };
  /** When the last notice went (ISO 8601). */
  lastSentAt?: string;
}

/** How the notifier is set up. */
export interface NotifierOptions {
  /** The `notify` config (its channel is not `off`). */
  config: NotifyConfig & { channel: "question" | "node" };
  /** Where sends and (changed) failures are logged. */
  logger: Logger;
  /** Time for the interval (default: the system clock). */
  clock?: Clock;
  /** The counters moved (status follows). */
  onChange?: () => void;
  /** How long the gateway may take to answer one request, ms (default 10 s). */
  requestTimeoutMs?: number;
}

/** A node as `node.list` shows it (the fields used). */
interface NodeRow {
  nodeId?: unknown;
  connected?: unknown;
  commands?: unknown;
}

/** Distinct failure reasons counted at most (the rest as "other"). */
const MAX_REASONS = 20;

/** Why a notice failed, for the counters; `message` is for the log. */
class NoticeFailure extends Error {
  constructor(readonly reason: string, message = reason) {
    super(message);
  }
}

/** Sends notices for findings, at most one per conversation per interval. */
export class Notifier {
  readonly #o: NotifierOptions;
  readonly #clock: Clock;
  readonly #gate: NoticeGate;
  #requests: GatewayRequests | undefined;
  #inFlight = new Set<Promise<void>>();
  #lastLoggedReason: string | undefined;
  readonly #status: NotifyStatus;

  /** Creates the notifier; it sends nothing until a connection is handed to it. */
  constructor(opts: NotifierOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#gate = new NoticeGate(opts.config.intervalSeconds * 1000);
    this.#status = {
      channel: opts.config.channel,
      intervalSeconds: opts.config.intervalSeconds,
      sent: 0,
      suppressed: 0,
      failed: 0,
      failures: {},
    };
  }

  /** The counters, for status. */
  get status(): NotifyStatus {
    return structuredClone(this.#status);
  }

  /** The connection's requests, or `undefined` when it has ended (`OpenClawSource.onConnection`). */
  connection(requests: GatewayRequests | undefined): void {
    this.#requests = requests;
  }

  /**
   * Takes a finding new to the ledger (live or found by a catch-up; one already written
   * before a crash is not handed here): a notice goes if its conversation had none lately.
   */
  accept(f: Finding): void {
    const at = this.#clock.now();
    // The gate first: in a burst, most findings are held back and need no notice made.
    if (!this.#gate.take(f.conversation ?? "", at)) {
      this.#status.suppressed++;
      this.#o.onChange?.();
      return;
    }
    const notice = noticeOf(f);
    const p = this.#send(notice).then(
      () => this.#sent(notice, at),
      (err) => this.#failed(notice, at, err),
    ).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Resolves when every notice on its way has been sent or has failed. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  async #send(notice: Notice): Promise<void> {
    const r = this.#requests;
    if (r === undefined) throw new NoticeFailure("not connected to the gateway");
    const scope = NOTIFY_SCOPE[this.#o.config.channel];
    if (!covers(r.scopes, scope)) {
      throw new NoticeFailure(`the gateway did not grant ${scope}`);
    }
    const timeout = this.#o.requestTimeoutMs ?? 10_000;
    try {
      if (this.#o.config.channel === "question") await this.#question(r, notice, timeout);
      else await this.#nodes(r, notice, timeout);
    } catch (err) {
      if (err instanceof NoticeFailure) throw err;
      throw new NoticeFailure(`the gateway refused: ${errorText(err)}`);
    }
  }

  // A question with no options, shown to every client with operator.questions (the Control
  // UI, the TUI); it expires quietly after the interval. No session: no agent is involved.
  async #question(r: GatewayRequests, notice: Notice, timeout: number): Promise<void> {
    await r.request("question.request", {
      questions: [{
        questionId: "notice",
        header: "MO§ES",
        question: `${notice.title}. ${notice.body}`,
        options: [],
      }],
      timeoutMs: this.#o.config.intervalSeconds * 1000,
    }, timeout);
  }

  // A notification on every connected node that offers system.notify.
  async #nodes(r: GatewayRequests, notice: Notice, timeout: number): Promise<void> {
    const list = await r.request<{ nodes?: NodeRow[] }>("node.list", {}, timeout);
    const targets = (list.nodes ?? []).filter((n) =>
      typeof n.nodeId === "string" && n.connected === true && Array.isArray(n.commands) &&
      n.commands.includes("system.notify")
    ).map((n) => n.nodeId as string);
    if (targets.length === 0) {
      throw new NoticeFailure("no connected device offers system.notify (pair one with OpenClaw)");
    }
    const results = await Promise.allSettled(targets.map((nodeId) =>
      r.request("node.invoke", {
        nodeId,
        command: "system.notify",
        params: { title: notice.title, body: notice.body, priority: "active" },
        idempotencyKey: `moses-notice-${notice.entryId}-${nodeId.slice(0, 16)}`,
      }, timeout)
    ));
    if (!results.some((x) => x.status === "fulfilled")) {
      throw (results[0] as PromiseRejectedResult).reason;
    }
  }

  #sent(notice: Notice, at: number): void {
    this.#status.sent++;
    this.#status.lastSentAt = new Date(at).toISOString();
    this.#lastLoggedReason = undefined;
    this.#o.logger.info("notice sent to the operator", {
      channel: this.#o.config.channel,
      rule: notice.rule,
      conversation: notice.conversation,
      entry: notice.entryId,
    });
    this.#o.onChange?.();
  }

  #failed(notice: Notice, at: number, err: unknown): void {
    this.#gate.giveBack(notice.conversation, at);
    const reason = err instanceof NoticeFailure ? err.reason : errorText(err);
    this.#status.failed++;
    // Reasons are few (fixed texts and the gateway's error codes); bounded all the same.
    const key = reason in this.#status.failures ||
        Object.keys(this.#status.failures).length < MAX_REASONS
      ? reason
      : "other";
    this.#status.failures[key] = (this.#status.failures[key] ?? 0) + 1;
    this.#status.lastFailure = { at: new Date(this.#clock.now()).toISOString(), reason };
    // One line per new reason: a gateway away for an hour is not a line per violation.
    if (reason !== this.#lastLoggedReason) {
      this.#lastLoggedReason = reason;
      this.#o.logger.warn(`Cannot send a notice to the operator: ${reason}`, {
        channel: this.#o.config.channel,
        entry: notice.entryId,
      });
    }
    this.#o.onChange?.();
  }
}
