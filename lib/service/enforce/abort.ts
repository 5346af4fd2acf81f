/**
 * The `abort` level: an out-of-turn run is aborted as it starts (`chat.abort`), and its one
 * sequence finding says what came of it. The finding is made at the run's start and settles
 * later: `blocked_and_logged` only when the gateway answered `aborted: true` AND the run then
 * ended aborted; otherwise `logged`, saying why (too late, refused, not in force, not
 * confirmed within the bound). The answer the run leaves (the partial text OpenClaw keeps, or
 * the whole answer when the abort came too late) makes no second finding.
 *
 * The order question is the sequence rule's read-only query; this module does the I/O and
 * keeps the runs waiting for their confirmation, each for a bounded time.
 * @module
 */
import { type GatewayRequests, RequestError } from "../../gateway/mod.ts";
import {
  type Finding,
  type RuleEvent,
  type RunEvent,
  type SequenceFinding,
  sequenceFinding,
} from "../../rules/mod.ts";
import { type Clock, errorText, type TimerId } from "../../util/mod.ts";

/** What enforcement did about a finding, in its `data` under `enforcement`. */
export interface Enforcement {
  /** Always `"abort"` here. */
  action: "abort";
  /**
   * `aborted` (confirmed), `too late`, `refused: <the gateway's code>`, `not in force: <why>`,
   * or `not confirmed: <why>`.
   */
  result: string;
}

/** How long a run waits for the gateway's answer and its aborted end, by default, in ms. */
export const ABORT_CONFIRM_MS = 10_000;

/** The result a finding carries while its confirmation is awaited (what a crash would leave). */
export const UNCONFIRMED = "not confirmed: stopped before the gateway confirmed the abort";

/** How a {@link RunAborter} is set up. */
export interface RunAborterOptions {
  /** The sequence rule's read-only query: would `agent` answering now be out of turn? */
  outOfTurn(
    conversation: string,
    agent: string,
    now: number,
  ): { role: string; expected: string } | undefined;
  /** The sequence in force (for the finding). */
  sequence: readonly string[];
  /** The connection's requests while there is one. */
  requests(): GatewayRequests | undefined;
  /** Why aborting is not in force on the connection in use (scopes), or undefined when it is. */
  notInForce(): string | undefined;
  /** Takes each finding made at a run's start, and what it settles as (never rejects). */
  onFinding(finding: Finding, event: RuleEvent, settled: Promise<Finding>): void;
  /** Time for the bounded wait. */
  clock: Clock;
  /** How long a run waits for its confirmation (default {@link ABORT_CONFIRM_MS}). */
  confirmMs?: number;
  /** Most runs remembered as judged at their start (default 4096). */
  maxRemembered?: number;
}

// A run waiting for its confirmation.
interface Waiting {
  finding: SequenceFinding;
  resolve: (f: Finding) => void;
  timer: TimerId;
  // The gateway's answer: "aborted", or the result to write.
  answer?: string;
  // Undefined until the run ends; then whether it ended aborted.
  endedAborted?: boolean;
}

/** Aborts out-of-turn runs at their start and settles their findings. */
export class RunAborter {
  readonly #o: RunAborterOptions;
  readonly #confirmMs: number;
  readonly #max: number;
  readonly #waiting = new Map<string, Waiting>();
  // Runs judged at their start, oldest first: their answers are not judged again.
  readonly #judged = new Set<string>();
  #aborts = 0;
  #blocked = 0;

  /** Creates the aborter; it acts on the events it is given. */
  constructor(opts: RunAborterOptions) {
    this.#o = opts;
    this.#confirmMs = opts.confirmMs ?? ABORT_CONFIRM_MS;
    this.#max = opts.maxRemembered ?? 4096;
  }

  /** Runs waiting for their confirmation. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Aborts asked for, and confirmed (each finding `blocked_and_logged`). */
  get counts(): { aborts: number; blocked: number } {
    return { aborts: this.#aborts, blocked: this.#blocked };
  }

  /**
   * Takes an event before the rules judge it (a run's start is judged, its end noted); returns
   * the event the rules judge: the answer of a run judged at its start is marked so, and the
   * sequence rule leaves it (one finding per run; an aborted run does not count in the order).
   */
  event(e: RuleEvent): RuleEvent {
    if (e.kind === "run") {
      if (e.phase === "start") this.#start(e);
      else if (e.phase === "ended") this.#ended(e);
    } else if (e.kind === "turn" && e.run !== undefined && this.#judged.has(e.run)) {
      return { ...e, judgedAtStart: true };
    }
    return e;
  }

  /** Settles every waiting run as not confirmed (at stop, or when the connection ended). */
  settleAll(why: string): void {
    for (const run of [...this.#waiting.keys()]) this.#settle(run, `not confirmed: ${why}`);
  }

  #start(e: RunEvent): void {
    const turn = this.#o.outOfTurn(e.conversation, e.agent, e.at);
    if (turn === undefined || this.#judged.has(e.run)) return;
    this.#remember(e);
    const finding = sequenceFinding({
      id: e.id ?? crypto.randomUUID(),
      conversation: e.conversation,
      agent: e.agent,
      role: turn.role,
      expected: turn.expected,
      sequence: this.#o.sequence,
      protocol: e.protocol,
    }, e.at);
    const requests = this.#o.requests();
    const off = requests === undefined ? "not connected" : this.#o.notInForce();
    const now = e.source !== "live"
      ? "too late: found while catching up"
      : e.session === undefined
      ? "not in force: the run has no session key"
      : off !== undefined
      ? `not in force: ${off}`
      : undefined;
    if (now !== undefined) {
      this.#o.onFinding(finding, e, Promise.resolve(withEnforcement(finding, now)));
      return;
    }
    let resolve!: (f: Finding) => void;
    const settled = new Promise<Finding>((r) => resolve = r);
    const timer = this.#o.clock.setTimeout(() => this.#timedOut(e.run), this.#confirmMs);
    this.#waiting.set(e.run, { finding, resolve, timer });
    this.#o.onFinding(withEnforcement(finding, UNCONFIRMED), e, settled);
    this.#aborts++;
    requests!.request<{ aborted?: unknown }>(
      "chat.abort",
      { sessionKey: e.session, runId: e.run },
      this.#confirmMs,
    ).then(
      (r) => this.#answered(e.run, r?.aborted === true ? "aborted" : "too late"),
      (err) =>
        this.#answered(
          e.run,
          err instanceof RequestError
            ? `refused: ${gatewayCode(err)}`
            : `not confirmed: ${errorText(err)}`,
        ),
    );
  }

  #answered(run: string, answer: string): void {
    const w = this.#waiting.get(run);
    if (w === undefined) return;
    w.answer = answer;
    this.#check(run, w);
  }

  #ended(e: RunEvent): void {
    const w = this.#waiting.get(e.run);
    if (w === undefined) return;
    w.endedAborted = e.aborted === true;
    this.#check(e.run, w);
  }

  // Settles a run as soon as what is known decides it.
  #check(run: string, w: Waiting): void {
    // Ended without being aborted: the answer was complete before the abort landed.
    if (w.endedAborted === false) return this.#settle(run, "too late");
    if (w.answer === undefined) return;
    if (w.answer !== "aborted") return this.#settle(run, w.answer);
    if (w.endedAborted === true) this.#settle(run, "aborted");
  }

  #timedOut(run: string): void {
    const w = this.#waiting.get(run);
    if (w === undefined) return;
    const s = this.#confirmMs / 1000;
    this.#settle(
      run,
      w.answer === undefined
        ? `not confirmed: no answer to chat.abort within ${s} s`
        : `not confirmed: the run's aborted end was not seen within ${s} s`,
    );
  }

  #settle(run: string, result: string): void {
    const w = this.#waiting.get(run);
    if (w === undefined) return;
    this.#waiting.delete(run);
    this.#o.clock.clearTimeout(w.timer);
    if (result === "aborted") this.#blocked++;
    w.resolve(withEnforcement(w.finding, result));
  }

  #remember(e: RunEvent): void {
    this.#judged.add(e.run);
    // A Set iterates oldest first: forget the oldest past the cap.
    for (const k of this.#judged) {
      if (this.#judged.size <= this.#max) break;
      this.#judged.delete(k);
    }
  }
}

/**
 * `f` with what enforcement did: its outcome (`blocked_and_logged` only for the result
 * `aborted`, which means confirmed), its detail, and `enforcement` in its data.
 */
export function withEnforcement(f: SequenceFinding, result: string): Finding {
  const enforcement: Enforcement = { action: "abort", result };
  const blocked = result === "aborted";
  return {
    ...f,
    outcome: blocked ? "blocked_and_logged" : "logged",
    detail: `${f.detail} (run ${blocked ? "aborted" : `not aborted: ${result}`})`,
    data: { ...f.data, enforcement },
  };
}

// The gateway's error code (its finer one where it gives one), never its free text.
function gatewayCode(err: RequestError): string {
  const fine = err.error.details?.code;
  return (typeof fine === "string" ? fine : err.error.code).slice(0, 64);
}
