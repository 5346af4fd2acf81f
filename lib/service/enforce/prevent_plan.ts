/**
 * `enforce: prevent`, the plan: from the governance, the sessions the gateway showed and the
 * record of what the coordinator changed, the session patches to send. Pure; the gateway
 * calls are `prevent.ts`'s.
 * @module
 */

/** A session's permission mode as OpenClaw has it; `null` is the default mode. */
export type PermissionMode = string | null;

/** The mode the coordinator puts sessions in: no write, edit or apply_patch, exec denied. */
export const LOCK_MODE = "read-only";
/** The mode only `operator.admin` may set (so only an admin can give it back). */
export const FULL_MODE = "full";

/** A session the coordinator made read-only: what it set and what it gives back. */
export interface LockedSession {
  /** The session key. */
  key: string;
  /** The session's agent. */
  agent: string;
  /** The mode before (`null`: the default), given back when the lock is no longer wanted. */
  previous: PermissionMode;
  /** The mode the coordinator set. */
  set: string;
  /**
   * Someone changed the mode after the coordinator set it (recorded by earlier versions): the
   * session is theirs, never given back nor locked again; forgotten once the lock is not wanted.
   */
  yielded?: boolean;
  /**
   * A patch between `previous` and `set` was sent and its result not known (not yet answered, or
   * the answer lost): the next list tells whether it landed.
   */
  pending?: boolean;
  /** Which patch is under way when `pending`; absent (older snapshots): taken as a lock. */
  pendingStep?: "lock" | "restore";
}

/** A session as the gateway last showed it. */
export interface KnownSession {
  /** The session key. */
  key: string;
  /** Its agent. */
  agent: string;
  /** Its permission mode now; `undefined`: not known (an event without the session's row). */
  mode: PermissionMode | undefined;
  /** Whether a run is going on in it, when the row says. */
  active?: boolean;
}

/** What decides which sessions are read-only. */
export interface PreventPolicy {
  /** Whether the sessions of `agent` are to be read-only now. */
  wantsLocked(agent: string): boolean;
  /** Whether mode `full` can be given back (operator.admin held): otherwise it is left alone. */
  canSetFull: boolean;
}

/** One thing to do. */
export type PreventStep =
  /** Record, then patch the session to read-only, expecting `previous`. */
  | { kind: "lock"; key: string; agent: string; previous: PermissionMode }
  /** Patch the session back to `to`, expecting `from` (the mode the coordinator set). */
  | { kind: "restore"; key: string; to: PermissionMode; from: string }
  /** A patch under way is found landed: the lock is confirmed (no longer pending). */
  | { kind: "landed"; key: string }
  /** Drop from the record without a call. */
  | { kind: "forget"; key: string; why: string }
  /** Wanted read-only but left as it is, and why. */
  | { kind: "skip"; key: string; why: string };

/** What the planner is given. */
export interface PreventInput {
  /** Which sessions are to be read-only. */
  policy: PreventPolicy;
  /** The sessions the gateway showed, by key. */
  sessions: ReadonlyMap<string, KnownSession>;
  /** What the coordinator changed, by key. */
  record: ReadonlyMap<string, LockedSession>;
}

/**
 * The steps that bring the sessions in line with the policy. A recorded session is never
 * locked again, and a mode seen changed is not taken for someone else's (a row can be stale):
 * the restore expects the mode set, and the gateway refuses it if someone changed it.
 */
export function planPrevent(input: PreventInput): PreventStep[] {
  const { policy, sessions, record } = input;
  const steps: PreventStep[] = [];
  const gone = new Set<string>();
  for (const r of record.values()) {
    const wanted = policy.wantsLocked(r.agent);
    const mode = sessions.get(r.key)?.mode;
    if (r.pending === true && mode === r.previous) {
      // The coordinator's own patch did not land, or was a restore that did: not someone else's.
      steps.push({
        kind: "forget",
        key: r.key,
        why: "it is in its mode before (a patch cut short)",
      });
      gone.add(r.key);
      continue;
    }
    if (r.pending === true && mode === r.set) steps.push({ kind: "landed", key: r.key });
    if (wanted) continue;
    steps.push(
      r.yielded === true
        ? { kind: "forget", key: r.key, why: "its mode was changed by someone else" }
        // Unseen sessions too: the patch expects the mode set, so a changed one is refused.
        : { kind: "restore", key: r.key, to: r.previous, from: r.set },
    );
  }
  for (const s of sessions.values()) {
    if (record.has(s.key) && !gone.has(s.key)) continue;
    if (s.mode === undefined || s.mode === LOCK_MODE || !policy.wantsLocked(s.agent)) continue;
    if (s.mode === FULL_MODE && !policy.canSetFull) {
      steps.push({
        kind: "skip",
        key: s.key,
        why: "its mode is full, which only operator.admin can set back",
      });
      continue;
    }
    steps.push({ kind: "lock", key: s.key, agent: s.agent, previous: s.mode });
  }
  return steps;
}

/** What decides whose sessions are read-only. */
export interface LockRules {
  /** The level asks for it (`prevent` or `abort`); otherwise every lock is given back. */
  enforcing: boolean;
  /** The posture in force is scout. */
  scout: boolean;
  /** Whether `agent` is governed (takes part in the sequence or the audit). */
  governed: (agent: string) => boolean;
  /** Whether `agent` is an observer (read-only always). */
  observer: (agent: string) => boolean;
}

/** Whether the sessions of `agent` are to be read-only: an observer's always, a governed agent's under scout. */
export function wantsLocked(rules: LockRules, agent: string): boolean {
  if (!rules.enforcing) return false;
  return rules.observer(agent) || (rules.scout && rules.governed(agent));
}

/** Whether `x` is a recorded {@link LockedSession} (for the snapshot read back). */
export function isLockedSession(x: unknown): x is LockedSession {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const r = x as Record<string, unknown>;
  return typeof r.key === "string" && r.key !== "" && typeof r.agent === "string" &&
    (r.previous === null || typeof r.previous === "string") && typeof r.set === "string" &&
    (r.yielded === undefined || typeof r.yielded === "boolean") &&
    (r.pending === undefined || typeof r.pending === "boolean") &&
    (r.pendingStep === undefined || r.pendingStep === "lock" || r.pendingStep === "restore");
}
