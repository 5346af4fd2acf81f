/**
 * The gateway's tool policy, read with `config.get` (`operator.read`) on the connection in
 * use: once at each connect, and again when the gateway announces `config.changed` (sent
 * for an edit of openclaw.json and for `config.set/patch` alike; nothing polls). One read at
 * a time, the last change read after it, so an older read never follows a newer one. A read
 * that fails (scope missing, timeout, an answer without config) is a status line and a log
 * line, never a stop; the next connect or change reads again.
 * @module
 */
import {
  CONFIG_CHANGED_EVENT,
  CONFIG_GET,
  type EventFrame,
  type GatewayRequests,
  toolPolicyEvent,
  toolPolicyOf,
} from "../../gateway/mod.ts";
import type { ToolPolicyEvent } from "../../rules/mod.ts";
import { type Clock, errorText, systemClock } from "../../util/mod.ts";
import type { Logger } from "../log.ts";
import type { ToolPolicyReadStatus } from "../status.ts";
import { covers, READ_SCOPE } from "../enforce/mod.ts";

/** How long a read may take, ms. */
export const TOOL_POLICY_READ_TIMEOUT_MS = 10_000;

/** How the source is set up. */
export interface ToolPolicySourceOptions {
  /** Where failures are logged. */
  logger: Logger;
  /** Receives each policy read, as a rule event. */
  onPolicy: (event: ToolPolicyEvent) => void;
  /** The read status changed (status follows). */
  onStatus?: () => void;
  /** Time (default: the system clock). */
  clock?: Clock;
}

/** Reads the gateway's tool policy at connect and after each change. */
export class ToolPolicySource {
  readonly #o: ToolPolicySourceOptions;
  readonly #clock: Clock;
  #requests: GatewayRequests | undefined;
  #reading: Promise<void> | undefined;
  #again: "live" | "catch-up" | undefined;
  #status: ToolPolicyReadStatus = { state: "unread" };

  /** Creates the source; it reads once a connection is handed to it. */
  constructor(opts: ToolPolicySourceOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  /** The reads as status shows them. */
  get status(): ToolPolicyReadStatus {
    return { ...this.#status };
  }

  /** A connection began (its requests) or ended (`undefined`): a new one is read at once. */
  connection(requests: GatewayRequests | undefined): void {
    this.#requests = requests;
    // Live, not catch-up: the answer may come after the catch-up has ended, and a caught-up
    // finding reads the ledger's end for its id (kept until the next catch-up ends). The rule's
    // saved state keeps a mismatch found again after a restart from being written twice.
    if (requests !== undefined) this.#read("live");
  }

  /** Every event frame of the connection: a config change is read again. */
  gatewayEvent(frame: EventFrame): void {
    if (frame.event === CONFIG_CHANGED_EVENT) this.#read("live");
  }

  /** Resolves once no read is in flight (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#reading !== undefined) await this.#reading;
  }

  #read(source: "live" | "catch-up"): void {
    if (this.#reading !== undefined) {
      // A read in flight may have missed this change: read once more after it.
      this.#again = this.#again === "catch-up" ? "catch-up" : source;
      return;
    }
    this.#reading = this.#readOnce(source).finally(() => {
      this.#reading = undefined;
      const again = this.#again;
      this.#again = undefined;
      if (again !== undefined && this.#requests !== undefined) this.#read(again);
    });
  }

  async #readOnce(source: "live" | "catch-up"): Promise<void> {
    const requests = this.#requests;
    if (requests === undefined) return;
    try {
      if (!covers(requests.scopes, READ_SCOPE)) {
        throw new Error("the gateway did not grant operator.read to this connection");
      }
      const answer = await requests.request(CONFIG_GET, {}, TOOL_POLICY_READ_TIMEOUT_MS);
      const event = toolPolicyEvent(toolPolicyOf(answer), { at: this.#clock.now(), source });
      this.#set({ state: "read", hash: event.hash.slice(0, 16) });
      this.#o.onPolicy(event);
    } catch (err) {
      // The connection ended under the read: the next one reads afresh.
      if (this.#requests !== requests) return;
      const detail = errorText(err).replace(/^Cannot read the tool policy: /, "");
      const error = `Cannot read the gateway's tool policy: ${detail}`;
      if (error !== this.#status.error) this.#o.logger.warn(error);
      this.#set({ state: "failed", error });
    }
  }

  #set(s: ToolPolicyReadStatus): void {
    this.#status = { ...s, at: new Date(this.#clock.now()).toISOString() };
    this.#o.onStatus?.();
  }
}
