/**
 * The OpenClaw source: what the link needs from the state directory (the device identity,
 * the gateway token, read afresh for each attempt, the device token the gateway issues),
 * and the watcher's turns handed on as rule events.
 * @module
 */
import {
  type DeviceIdentity,
  type EventFrame,
  type GatewayRequests,
  isRunItem,
  isToolCallItem,
  loadOrCreateIdentity,
  newWatchCounters,
  type OpenClawSetup,
  type ResolvedToken,
  resolveToken,
  runEvent,
  saveDeviceToken,
  TokenError,
  ToolCallAssembler,
  toolCallEvent,
  type Turn,
  turnEvent,
  type TurnSource,
  TurnTracker,
  type WatchCounters,
  withTokenSource,
} from "../../gateway/mod.ts";
import type { ConversationFrom } from "../../gateway/mod.ts";
import type { RuleEvent } from "../../rules/mod.ts";
import { type Clock, errorText, systemClock } from "../../util/mod.ts";
import { VERSION } from "../../version.ts";
import type { Logger } from "../log.ts";
import type { Paths } from "../../util/mod.ts";
import { ScopeNegotiation } from "../enforce/mod.ts";

/** How the source is set up. */
export interface OpenClawSourceOptions {
  /** The state directory's files (identity, token, device token). */
  paths: Paths;
  /** Where the source logs. */
  logger: Logger;
  /** Which session-key field a turn's conversation is taken from. */
  conversationFrom: ConversationFrom;
  /** The token read at start (a token that cannot be read then stops the daemon). */
  token: ResolvedToken;
  /** Receives each new turn and tool call as an event, in order. */
  onEvent: (event: RuleEvent) => void;
  /** The catch-up is done and live events flow. */
  onLive: () => void;
  /** Time for the turns (default: the system clock). */
  clock?: Clock;
  /** Reads the token (tests). */
  readToken?: (path: string) => Promise<ResolvedToken>;
  /** The scopes asked for in `connect` and what came of them (default: reading only). */
  scopes?: ScopeNegotiation;
  /** The connection's requests once subscribed, and `undefined` when it ends. */
  onConnection?: (requests: GatewayRequests | undefined) => void;
  /** Every event frame of the connection (parts that act on gateway state). */
  onGatewayEvent?: (frame: EventFrame) => void;
}

/** Identity, token and turns for the OpenClaw protocol. */
export class OpenClawSource {
  /** Which turns have been counted (saved in the snapshot). */
  readonly tracker: TurnTracker = new TurnTracker();
  /** The watcher's counters, kept across connections. */
  readonly counters: WatchCounters = newWatchCounters();
  /** Tool calls between start and result, kept across connections. */
  readonly assembler: ToolCallAssembler;
  readonly #o: OpenClawSourceOptions;
  readonly #clock: Clock;
  readonly #readToken: (path: string) => Promise<ResolvedToken>;
  #token: ResolvedToken;
  #identity: DeviceIdentity | undefined;
  #tokenError: string | undefined;
  #requests: GatewayRequests | undefined;
  readonly #scopes: ScopeNegotiation;
  #scopesLogged = "";

  /** Starts with the token read at start. */
  constructor(opts: OpenClawSourceOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#readToken = opts.readToken ?? resolveToken;
    this.#token = opts.token;
    this.assembler = new ToolCallAssembler(opts.conversationFrom);
    this.#scopes = opts.scopes ?? new ScopeNegotiation([]);
  }

  /** The scopes asked for, granted, and what is in force because of them. */
  get scopes(): ScopeNegotiation {
    return this.#scopes;
  }

  /** Requests on the connection in use, while there is one. */
  get requests(): GatewayRequests | undefined {
    return this.#requests;
  }

  /** Where the token in use came from (never the token). */
  get tokenSource(): string {
    return this.#token.source;
  }

  /**
   * Why the link stopped for good, for the log and status: a refused token is named by where
   * it came from (never the token itself).
   */
  refusalText(err: Error & { code?: unknown }): string {
    return withTokenSource(err, this.#token);
  }

  /** What the link needs. */
  setup(): OpenClawSetup {
    return {
      connectOptions: async () => ({
        identity: await this.#getIdentity(),
        token: (await this.#currentToken()).token,
        scopes: this.#scopes.nextScopes(),
        version: VERSION,
        platform: Deno.build.os,
        timeoutMs: 10_000,
      }),
      saveDeviceToken: (t) => this.#saveDeviceToken(t),
      connectRefused: (message) => {
        const retry = this.#scopes.refused(message);
        if (retry) {
          this.#o.logger.warn(
            "the gateway refused the scopes asked for; watching with operator.read only",
            { asked: this.#scopes.wanted.join(","), detail: message },
          );
        }
        return retry;
      },
      watchDeps: () => ({
        tracker: this.tracker,
        assembler: this.assembler,
        conversationFrom: this.#o.conversationFrom,
        counters: this.counters,
        onTurn: (turn: Turn, source: TurnSource) => {
          const seen = { at: this.#clock.now(), source };
          this.#o.onEvent(
            isToolCallItem(turn)
              ? toolCallEvent(turn, seen)
              : isRunItem(turn)
              ? runEvent(turn, seen)
              : turnEvent(turn, seen),
          );
        },
        onNotice: (level, msg, fields) => this.#o.logger.log(level, msg, fields),
        onLive: () => this.#o.onLive(),
        onConnection: (r) => {
          this.#requests = r;
          this.#scopes.granted(r?.scopes);
          if (r !== undefined) this.#logScopes();
          this.#o.onConnection?.(r);
        },
        ...(this.#o.onGatewayEvent ? { onGatewayEvent: this.#o.onGatewayEvent } : {}),
      }),
    };
  }

  /**
   * The token, read again for every attempt so a token changed on the gateway is picked up
   * on reconnect. A file that cannot be read now (OpenClaw rewriting it) is not a reason to
   * stop: the last good token is kept and the next attempt reads again. A token the gateway
   * refuses still stops the link (the gateway says so, not the file).
   */
  async #currentToken(): Promise<ResolvedToken> {
    try {
      const token = await this.#readToken(this.#o.paths.openclawConfig);
      if (this.#tokenError !== undefined) {
        this.#o.logger.info("gateway token readable again", { source: token.source });
      }
      this.#tokenError = undefined;
      this.#token = token;
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      const message = errorText(err);
      if (message !== this.#tokenError) {
        this.#o.logger.warn(`${message}; using the token read before, and reading again next time`);
      }
      this.#tokenError = message;
    }
    return this.#token;
  }

  // What the connection's scopes put in force, logged when it differs from the last connection's.
  #logScopes(): void {
    const report = this.#scopes.report();
    const text = JSON.stringify([report.inForce, report.off]);
    if (text === this.#scopesLogged) return;
    this.#scopesLogged = text;
    for (const o of report.off) this.#o.logger.warn(`${o.feature} is not in force: ${o.why}`);
    if (report.inForce.length > 0) {
      this.#o.logger.info("in force", {
        features: report.inForce.join(","),
        scopes: report.held.join(","),
      });
    }
  }

  async #getIdentity(): Promise<DeviceIdentity> {
    if (this.#identity) return this.#identity;
    const loaded = await loadOrCreateIdentity(this.#o.paths.device);
    if (loaded.warning) this.#o.logger.warn(loaded.warning);
    if (loaded.created) {
      this.#o.logger.info("made a new device identity", { deviceId: loaded.identity.deviceId });
    }
    this.#identity = loaded.identity;
    return this.#identity;
  }

  async #saveDeviceToken(t: string | undefined): Promise<void> {
    const id = await this.#getIdentity();
    id.deviceToken = t;
    try {
      await saveDeviceToken(this.#o.paths.device, t);
      if (t !== undefined) this.#o.logger.info("kept the device token the gateway issued");
    } catch (err) {
      this.#o.logger.warn(`Cannot save the device token: ${errorText(err)}`);
    }
  }
}
