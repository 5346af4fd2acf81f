/**
 * `enforce: prevent` through the gateway: sessions are made read-only (`sessions.patch
 * {key, permissionMode}`, operator.write) as the plan says, and given back. What was changed
 * is recorded before the patch is sent and kept in the snapshot, so a crash never leaves a
 * session locked without a record; every patch expects the mode it replaces, so a mode someone
 * else set meanwhile is never overridden.
 * @module
 */
import { type EventFrame, type GatewayRequests, RequestError } from "../../gateway/mod.ts";
import type { Finding, RuleEvent } from "../../rules/mod.ts";
import { errorText } from "../../util/mod.ts";
import type { Logger } from "../log.ts";
import {
  isLockedSession,
  type KnownSession,
  LOCK_MODE,
  type LockedSession,
  type LockRules,
  type PermissionMode,
  planPrevent,
  type PreventStep,
  wantsLocked,
} from "./prevent_plan.ts";

/** The feature name of giving back sessions locked before, with `enforce: off`. */
export const RELEASE = "enforce release";

/** How the prevention is set up. */
export interface PreventionOptions {
  /** Whose sessions are to be read-only now; read at every pass. */
  rules: () => LockRules;
  /** Whether patches may be sent on the connection in use (operator.write held). */
  mayPatch: () => boolean;
  /** Whether operator.admin is held (mode `full` can be given back). */
  admin: () => boolean;
  /** Writes the record where a restart finds it (the snapshot); false when it could not. */
  save: () => Promise<boolean>;
  /** The record changed: save it soon. */
  onChange?: () => void;
  /** The record was read back from the snapshot (it may hold sessions to give back). */
  onRestored?: () => void;
  /** Where each change is said. */
  logger: Logger;
}

/** Makes sessions read-only and gives them back; keeps the record of what it changed. */
export class Prevention {
  readonly #o: PreventionOptions;
  readonly #record = new Map<string, LockedSession>();
  readonly #known = new Map<string, KnownSession>();
  #requests: GatewayRequests | undefined;
  #listed = false;
  #running: Promise<void> | undefined;
  #again = false;
  readonly #skipped = new Set<string>();
  // Sessions whose lock the gateway refused (e.g. during a run that cannot take a new mode):
  // tried again at their next event that shows no run going on.
  readonly #retry = new Set<string>();
  // Sessions whose failed patch was said already: said once, until a patch of theirs lands.
  readonly #warned = new Set<string>();

  /** Starts with an empty record (see {@link restore}). */
  constructor(opts: PreventionOptions) {
    this.#o = opts;
  }

  /** Sessions the coordinator made read-only (the gateway confirmed it) and will give back. */
  get locked(): number {
    let n = 0;
    for (const key of this.#record.keys()) if (this.lockedByUs(key)) n++;
    return n;
  }

  /** Whether the record holds anything (to give back, or to remember). */
  get recorded(): boolean {
    return this.#record.size > 0;
  }

  /** Whether the coordinator made session `key` read-only (confirmed) and it still is. */
  lockedByUs(key: string): boolean {
    const r = this.#record.get(key);
    if (r === undefined || r.yielded === true) return false;
    return r.pending !== true || r.pendingStep === "restore";
  }

  /** The record, for the snapshot. */
  snapshot(): LockedSession[] {
    return [...this.#record.values()].map((r) => ({ ...r }));
  }

  /** Takes the record read back from the snapshot; returns the entries it could not use. */
  restore(entries: readonly unknown[]): unknown[] {
    const bad: unknown[] = [];
    for (const e of entries) {
      if (isLockedSession(e)) this.#record.set(e.key, { ...e });
      else bad.push(e);
    }
    if (this.#record.size > 0) this.#o.onRestored?.();
    return bad;
  }

  /** What the OpenClaw source calls: each connection, and every event frame. */
  sourceHooks(): {
    onConnection: (r: GatewayRequests | undefined) => void;
    onGatewayEvent: (f: EventFrame) => void;
  } {
    return {
      onConnection: (r) => void this.connection(r),
      onGatewayEvent: (f) => this.gatewayEvent(f),
    };
  }

  /** The connection's requests, or `undefined` when it ended; resolves when its pass is done. */
  connection(requests: GatewayRequests | undefined): Promise<void> {
    this.#requests = requests;
    this.#listed = false;
    this.#known.clear();
    return requests !== undefined ? this.sync() : Promise.resolve();
  }

  /**
   * Every event frame: a session's row (new session, mode changed, run ended) may call for a
   * pass. Nothing is kept while patches may not be sent (the list is read once they may).
   */
  gatewayEvent(frame: EventFrame): void {
    if (frame.event !== "sessions.changed" || !this.#o.mayPatch()) return;
    const s = sessionOf(frame.payload);
    if (s === undefined) return;
    const before = this.#known.get(s.key);
    const retry = s.active !== true && this.#retry.delete(s.key);
    // A mode not given, or of a session whose patch is under way, is not taken: the list
    // (read again after an answer was lost) or the patch's answer says what it is.
    if (s.mode === undefined || this.#record.get(s.key)?.pending === true) {
      // A session never seen: the list says its mode.
      if (before === undefined) this.#listed = false;
      if (retry || before === undefined) void this.sync();
      return;
    }
    this.#known.set(s.key, s);
    if (before === undefined || before.mode !== s.mode || retry) void this.sync();
  }

  /**
   * Brings the sessions in line with the plan; one pass at a time, and one more when asked
   * for meanwhile. Resolves when no pass is left.
   */
  sync(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.#pass();
        } catch (err) {
          this.#o.logger.warn(
            `Cannot apply enforce prevent: ${errorText(err)}; trying again later`,
          );
        }
      } while (this.#again);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    const requests = this.#requests;
    if (requests === undefined || !this.#o.mayPatch()) return;
    if (!this.#listed) {
      const listed = await listSessions(requests);
      for (const s of listed) {
        if (!this.#known.has(s.key)) this.#known.set(s.key, s);
        if (s.active !== true) this.#retry.delete(s.key);
      }
      this.#listed = true;
      this.#prune(new Set(listed.map((s) => s.key)));
    }
    const rules = this.#o.rules();
    const steps = planPrevent({
      policy: { wantsLocked: (a) => wantsLocked(rules, a), canSetFull: this.#o.admin() },
      sessions: this.#known,
      record: this.#record,
    });
    if (steps.length === 0) return;
    const locks: Extract<PreventStep, { kind: "lock" }>[] = [];
    const restores: Extract<PreventStep, { kind: "restore" }>[] = [];
    for (const step of steps) {
      if (step.kind === "landed") this.#landed(step.key);
      else if (step.kind === "lock") {
        // A lock refused during a run waits for the run's end (see gatewayEvent).
        if (!this.#retry.has(step.key)) locks.push(step);
      } else if (step.kind === "restore") restores.push(step);
      else this.#note(step);
    }
    const calls = await this.#recordAhead(locks, restores);
    await Promise.all([
      ...calls.locks.map((step) => this.#lock(requests, step)),
      ...restores.map((step) => this.#restore(requests, step)),
    ]);
    // What came of them, saved at once: a crash now finds each session as recorded.
    if (locks.length + restores.length > 0) await this.#o.save();
    this.#o.onChange?.();
  }

  // Recorded as under way and saved before any patch is sent: a crash right after leaves a
  // record, never a lock nobody knows of. Without the record saved nothing is locked; giving
  // back goes ahead all the same.
  async #recordAhead(
    locks: Extract<PreventStep, { kind: "lock" }>[],
    restores: Extract<PreventStep, { kind: "restore" }>[],
  ): Promise<{ locks: Extract<PreventStep, { kind: "lock" }>[] }> {
    if (locks.length + restores.length === 0) return { locks };
    for (const l of locks) {
      this.#record.set(l.key, {
        key: l.key,
        agent: l.agent,
        previous: l.previous,
        set: LOCK_MODE,
        pending: true,
        pendingStep: "lock",
      });
    }
    for (const r of restores) {
      Object.assign(this.#record.get(r.key)!, { pending: true, pendingStep: "restore" });
    }
    if (await this.#o.save()) return { locks };
    for (const l of locks) this.#record.delete(l.key);
    if (locks.length > 0) {
      this.#o.logger.error(
        "Cannot make sessions read-only: the record of what is changed cannot be saved " +
          "(see the message above); they are left as they are",
        { sessions: locks.length },
      );
    }
    return { locks: [] };
  }

  async #lock(requests: GatewayRequests, step: Extract<PreventStep, { kind: "lock" }>) {
    try {
      await requests.request("sessions.patch", {
        key: step.key,
        permissionMode: LOCK_MODE,
        expectedPermissionMode: step.previous,
      });
      this.#seen(step.key, LOCK_MODE);
      this.#landed(step.key);
      this.#warned.delete(step.key);
      this.#o.logger.info("session made read-only", {
        session: step.key,
        agent: step.agent,
        previous: step.previous ?? "default",
      });
    } catch (err) {
      if (!(err instanceof RequestError)) return this.#lost(step.key, err);
      this.#record.delete(step.key);
      // Changed meanwhile: its event brings the mode it has now, and another pass.
      if (changedMeanwhile(err)) return;
      this.#retry.add(step.key);
      this.#warnOnce(
        step.key,
        `Cannot make session ${step.key} read-only: ${errorText(err)}; ` +
          "trying again at its next change with no run going on",
      );
    }
  }

  async #restore(requests: GatewayRequests, step: Extract<PreventStep, { kind: "restore" }>) {
    try {
      await requests.request("sessions.patch", {
        key: step.key,
        permissionMode: step.to,
        expectedPermissionMode: step.from,
      });
      this.#record.delete(step.key);
      this.#warned.delete(step.key);
      this.#seen(step.key, step.to);
      this.#o.logger.info("session given back its mode", {
        session: step.key,
        mode: step.to ?? "default",
      });
    } catch (err) {
      if (!(err instanceof RequestError)) return this.#lost(step.key, err);
      if (changedMeanwhile(err)) {
        this.#note({ kind: "forget", key: step.key, why: "its mode was changed by someone else" });
        return;
      }
      this.#landed(step.key);
      this.#warnOnce(
        step.key,
        `Cannot give session ${step.key} its mode back: ${errorText(err)}; ` +
          "it stays recorded and is tried again",
      );
    }
  }

  // The patch was sent and its answer lost (connection closed, no answer in time): it may have
  // landed. Kept as under way; the session's mode is read again from the list, which tells.
  #lost(key: string, err: unknown): void {
    this.#known.delete(key);
    this.#listed = false;
    this.#o.logger.warn(
      `Cannot tell whether session ${key}'s mode was changed: ${errorText(err)}; ` +
        "it stays recorded and is checked on the next pass",
    );
  }

  // The record's patch is confirmed: no longer under way.
  #landed(key: string): void {
    const r = this.#record.get(key);
    if (r !== undefined) {
      delete r.pending;
      delete r.pendingStep;
    }
  }

  #warnOnce(key: string, msg: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#o.logger.warn(msg);
  }

  // What is kept of sessions no longer listed (deleted) is dropped.
  #prune(listed: ReadonlySet<string>): void {
    for (const set of [this.#retry, this.#skipped, this.#warned]) {
      for (const key of set) if (!listed.has(key) && !this.#record.has(key)) set.delete(key);
    }
  }

  #note(step: Exclude<PreventStep, { kind: "lock" | "restore" | "landed" }>): void {
    const { logger } = this.#o;
    if (step.kind === "skip") {
      if (this.#skipped.has(step.key)) return;
      this.#skipped.add(step.key);
      logger.warn(`Session ${step.key} is not made read-only: ${step.why}`);
      return;
    }
    if (!this.#record.delete(step.key)) return;
    this.#warned.delete(step.key);
    logger.info("session forgotten, not given back", { session: step.key, why: step.why });
  }

  #seen(key: string, mode: PermissionMode): void {
    const k = this.#known.get(key);
    if (k !== undefined) this.#known.set(key, { ...k, mode });
  }
}

/**
 * The finding as written: `blocked_and_logged` only when the gateway refused the call (not
 * found or blocked) in a session the coordinator made read-only; otherwise as it is.
 */
export function preventedOutcome(
  finding: Finding,
  event: RuleEvent,
  lockedByUs: (session: string) => boolean,
): Finding {
  if (
    event.kind !== "tool_call" || (event.status !== "not_found" && event.status !== "blocked") ||
    event.session === undefined || !lockedByUs(event.session)
  ) {
    return finding;
  }
  return { ...finding, outcome: "blocked_and_logged" };
}

// The gateway refused a patch because the session's mode (or the session) is not the one
// expected: someone changed it, or it was reset or deleted.
function changedMeanwhile(err: unknown): boolean {
  return err instanceof RequestError && err.error.details?.reason === "session-changed";
}

/**
 * A session row from `sessions.list`, or the session of a `sessions.changed` event; its mode
 * `undefined` when the event carries neither the row nor the mode.
 */
export function sessionOf(payload: unknown): KnownSession | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  const row = typeof p.session === "object" && p.session !== null
    ? p.session as Record<string, unknown>
    : p;
  const key = typeof p.sessionKey === "string" ? p.sessionKey : row.key;
  const agent = typeof p.agentId === "string" ? p.agentId : row.agentId;
  if (typeof key !== "string" || key === "" || typeof agent !== "string") return undefined;
  // A row leaves the default mode (null) out; an event also has it flattened, null included.
  // An event with neither (only the key and agent) says nothing of the mode.
  const hasRow = row !== p || typeof p.sessionKey !== "string";
  const mode = "permissionMode" in p
    ? p.permissionMode
    : hasRow
    ? row.permissionMode ?? null
    : undefined;
  if (mode !== null && mode !== undefined && typeof mode !== "string") return undefined;
  const active = row.hasActiveRun ?? p.hasActiveRun;
  return { key, agent, mode, ...(typeof active === "boolean" ? { active } : {}) };
}

/** Every session the gateway lists, a page at a time. */
async function listSessions(requests: GatewayRequests): Promise<KnownSession[]> {
  const out: KnownSession[] = [];
  for (let offset = 0;;) {
    const page = await requests.request<
      { sessions?: unknown[]; hasMore?: boolean; nextOffset?: number | null }
    >("sessions.list", { limit: 100, offset });
    for (const row of page.sessions ?? []) {
      const s = sessionOf(row);
      if (s !== undefined) out.push(s);
    }
    const next = page.nextOffset;
    if (!page.hasMore || typeof next !== "number" || next <= offset) return out;
    offset = next;
  }
}
