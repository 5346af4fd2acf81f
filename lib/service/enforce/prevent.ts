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
  // tried again at their next event.
  readonly #retry = new Set<string>();

  /** Starts with an empty record (see {@link restore}). */
  constructor(opts: PreventionOptions) {
    this.#o = opts;
  }

  /** Sessions the coordinator made read-only and will give back. */
  get locked(): number {
    let n = 0;
    for (const r of this.#record.values()) if (r.yielded !== true) n++;
    return n;
  }

  /** Whether the record holds anything (to give back, or to remember). */
  get recorded(): boolean {
    return this.#record.size > 0;
  }

  /** Whether the coordinator made session `key` read-only and it still is. */
  lockedByUs(key: string): boolean {
    const r = this.#record.get(key);
    return r !== undefined && r.yielded !== true;
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

  /** Every event frame: a session's row (new session, mode changed) may call for a pass. */
  gatewayEvent(frame: EventFrame): void {
    if (frame.event !== "sessions.changed") return;
    const s = sessionOf(frame.payload);
    if (s === undefined) return;
    const before = this.#known.get(s.key);
    this.#known.set(s.key, s);
    if (before === undefined || before.mode !== s.mode || this.#retry.delete(s.key)) {
      void this.sync();
    }
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
      for (const s of await listSessions(requests)) {
        if (!this.#known.has(s.key)) this.#known.set(s.key, s);
      }
      this.#listed = true;
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
      if (step.kind === "lock") locks.push(step);
      else if (step.kind === "restore") restores.push(step);
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
      });
    }
    for (const r of restores) this.#record.get(r.key)!.pending = true;
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
      const r = this.#record.get(step.key);
      if (r !== undefined) delete r.pending;
      this.#o.logger.info("session made read-only", {
        session: step.key,
        agent: step.agent,
        previous: step.previous ?? "default",
      });
    } catch (err) {
      this.#record.delete(step.key);
      // Changed meanwhile: its event brings the mode it has now, and another pass.
      if (changedMeanwhile(err)) return;
      this.#retry.add(step.key);
      this.#o.logger.warn(
        `Cannot make session ${step.key} read-only: ${
          errorText(err)
        }; trying again at its next change`,
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
      this.#seen(step.key, step.to);
      this.#o.logger.info("session given back its mode", {
        session: step.key,
        mode: step.to ?? "default",
      });
    } catch (err) {
      if (changedMeanwhile(err)) {
        this.#note({ kind: "forget", key: step.key, why: "its mode was changed by someone else" });
        return;
      }
      const r = this.#record.get(step.key);
      if (r !== undefined) delete r.pending;
      this.#o.logger.warn(
        `Cannot give session ${step.key} its mode back: ${errorText(err)}; ` +
          "it stays recorded and is tried again on the next connection",
      );
    }
  }

  #note(step: Exclude<PreventStep, { kind: "lock" | "restore" }>): void {
    const { logger } = this.#o;
    if (step.kind === "skip") {
      if (this.#skipped.has(step.key)) return;
      this.#skipped.add(step.key);
      logger.warn(`Session ${step.key} is not made read-only: ${step.why}`);
      return;
    }
    const r = this.#record.get(step.key);
    if (r === undefined) return;
    if (step.kind === "yield") {
      r.yielded = true;
      logger.info("session's mode changed by someone else: left as they set it", {
        session: step.key,
      });
    } else {
      this.#record.delete(step.key);
      logger.info("session forgotten, not given back", { session: step.key, why: step.why });
    }
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

/** A session row from `sessions.list`, or the session of a `sessions.changed` event. */
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
  const mode = "permissionMode" in p ? p.permissionMode : row.permissionMode ?? null;
  if (mode !== null && typeof mode !== "string") return undefined;
  return { key, agent, mode };
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
