import { assertEquals } from "../../../support/assert.ts";
import {
  isLockedSession,
  type KnownSession,
  type LockedSession,
  type LockRules,
  planPrevent,
  type PreventStep,
  wantsLocked,
} from "../../../../lib/service/enforce/mod.ts";

const GOVERNED = new Set(["primary", "secondary", "observer"]);

function rules(o: Partial<LockRules> = {}): LockRules {
  return {
    enforcing: true,
    scout: false,
    governed: (a) => GOVERNED.has(a),
    observer: (a) => a === "observer",
    ...o,
  };
}

function plan(
  r: LockRules,
  sessions: KnownSession[],
  record: LockedSession[] = [],
  canSetFull = false,
): PreventStep[] {
  return planPrevent({
    policy: { wantsLocked: (a) => wantsLocked(r, a), canSetFull },
    sessions: new Map(sessions.map((s) => [s.key, s])),
    record: new Map(record.map((l) => [l.key, l])),
  });
}

const P1: KnownSession = { key: "agent:primary:g", agent: "primary", mode: null };
const S1: KnownSession = { key: "agent:secondary:g", agent: "secondary", mode: "guarded" };
const O1: KnownSession = { key: "agent:observer:g", agent: "observer", mode: null };
const X1: KnownSession = { key: "agent:main:g", agent: "main", mode: null };

function locked(s: KnownSession, o: Partial<LockedSession> = {}): LockedSession {
  return { key: s.key, agent: s.agent, previous: s.mode ?? null, set: "read-only", ...o };
}

Deno.test("scout: every governed agent's session is locked, its mode before recorded", () => {
  assertEquals(plan(rules({ scout: true }), [P1, S1, O1, X1]), [
    { kind: "lock", key: P1.key, agent: "primary", previous: null },
    { kind: "lock", key: S1.key, agent: "secondary", previous: "guarded" },
    { kind: "lock", key: O1.key, agent: "observer", previous: null },
  ]);
});

Deno.test("not scout: only an observer's session is locked", () => {
  assertEquals(plan(rules({ scout: false }), [P1, S1, O1, X1]), [
    { kind: "lock", key: O1.key, agent: "observer", previous: null },
  ]);
});

Deno.test("a session already read-only is left alone and not recorded", () => {
  assertEquals(plan(rules({ scout: true }), [{ ...P1, mode: "read-only" }]), []);
});

Deno.test("locked sessions stay while scout holds; a new session is locked as it appears", () => {
  const record = [locked(P1), locked(S1)];
  const now = [{ ...P1, mode: "read-only" }, { ...S1, mode: "read-only" }];
  assertEquals(plan(rules({ scout: true }), now, record), []);
  const fresh: KnownSession = { key: "agent:primary:new", agent: "primary", mode: null };
  assertEquals(plan(rules({ scout: true }), [...now, fresh], record), [
    { kind: "lock", key: fresh.key, agent: "primary", previous: null },
  ]);
});

Deno.test("posture leaves scout: each session gets its mode back, the default as null", () => {
  const record = [locked(P1), locked(S1), locked(O1)];
  const now = [P1, S1, O1].map((s) => ({ ...s, mode: "read-only" }));
  assertEquals(plan(rules({ scout: false }), now, record), [
    { kind: "restore", key: P1.key, to: null, from: "read-only" },
    { kind: "restore", key: S1.key, to: "guarded", from: "read-only" },
  ]);
});

Deno.test("a recorded session not seen (yet) is given back all the same", () => {
  assertEquals(plan(rules({ scout: false }), [], [locked(P1)]), [
    { kind: "restore", key: P1.key, to: null, from: "read-only" },
  ]);
});

Deno.test("enforce off: everything recorded is given back, nothing locked", () => {
  const record = [locked(P1), locked(O1)];
  const now = [{ ...P1, mode: "read-only" }, { ...O1, mode: "read-only" }, S1];
  assertEquals(plan(rules({ enforcing: false, scout: true }), now, record), [
    { kind: "restore", key: P1.key, to: null, from: "read-only" },
    { kind: "restore", key: O1.key, to: null, from: "read-only" },
  ]);
});

Deno.test("a mode seen changed is not taken for someone else's: the restore's compare-and-set tells", () => {
  const record = [locked(P1)];
  // A row may be stale (the mode before, right after the lock): nothing is decided from it.
  const seen = [{ ...P1, mode: "guarded" }];
  assertEquals(plan(rules({ scout: true }), seen, record), []);
  assertEquals(plan(rules({ scout: true }), [P1], record), []);
  // Scout ends: given back expecting the mode set; the gateway refuses it if someone changed it.
  assertEquals(plan(rules({ scout: false }), seen, record), [
    { kind: "restore", key: P1.key, to: null, from: "read-only" },
  ]);
  // Yielded by an earlier coordinator: never locked again, forgotten once scout ends.
  const yielded = [locked(P1, { yielded: true })];
  assertEquals(plan(rules({ scout: true }), seen, yielded), []);
  assertEquals(plan(rules({ scout: false }), seen, yielded), [
    { kind: "forget", key: P1.key, why: "its mode was changed by someone else" },
  ]);
});

Deno.test("a patch cut short by a crash: found in its mode before, the session is not taken for someone else's", () => {
  // Recorded as under way, then killed before the lock landed: locked afresh while scout holds.
  assertEquals(plan(rules({ scout: true }), [P1], [locked(P1, { pending: true })]), [
    { kind: "forget", key: P1.key, why: "it is in its mode before (a patch cut short)" },
    { kind: "lock", key: P1.key, agent: "primary", previous: null },
  ]);
  // Killed after a restore landed: nothing more to do.
  assertEquals(plan(rules({ scout: false }), [P1], [locked(P1, { pending: true })]), [
    { kind: "forget", key: P1.key, why: "it is in its mode before (a patch cut short)" },
  ]);
  // Killed after the lock landed: confirmed (no longer under way), given back when scout ends.
  const ro = [{ ...P1, mode: "read-only" }];
  assertEquals(plan(rules({ scout: true }), ro, [locked(P1, { pending: true })]), [
    { kind: "landed", key: P1.key },
  ]);
  assertEquals(plan(rules({ scout: false }), ro, [locked(P1, { pending: true })]), [
    { kind: "landed", key: P1.key },
    { kind: "restore", key: P1.key, to: null, from: "read-only" },
  ]);
  // Not seen (yet): left under way while the lock is wanted.
  assertEquals(plan(rules({ scout: true }), [], [locked(P1, { pending: true })]), []);
});

Deno.test("a session in mode full is locked only when operator.admin can give it back", () => {
  const full = { ...P1, mode: "full" };
  assertEquals(plan(rules({ scout: true }), [full]), [
    { kind: "skip", key: P1.key, why: "its mode is full, which only operator.admin can set back" },
  ]);
  assertEquals(plan(rules({ scout: true }), [full], [], true), [
    { kind: "lock", key: P1.key, agent: "primary", previous: "full" },
  ]);
});

Deno.test("isLockedSession accepts what the record holds and nothing else", () => {
  assertEquals(isLockedSession(locked(P1)), true);
  assertEquals(isLockedSession(locked(S1, { yielded: true, pending: true })), true);
  assertEquals(isLockedSession(locked(S1, { pending: true, pendingStep: "restore" })), true);
  assertEquals(
    isLockedSession(locked(S1, { pending: true, pendingStep: "x" as unknown as "lock" })),
    false,
  );
  assertEquals(isLockedSession(locked(S1, { pending: 1 as unknown as boolean })), false);
  assertEquals(isLockedSession({ key: "k", agent: "a", set: "read-only" }), false);
  assertEquals(isLockedSession({ key: "", agent: "a", previous: null, set: "read-only" }), false);
  assertEquals(isLockedSession({ key: "k", agent: "a", previous: 3, set: "read-only" }), false);
});
