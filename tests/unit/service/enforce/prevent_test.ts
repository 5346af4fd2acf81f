import { assert, assertEquals } from "../../../support/assert.ts";
import { type GatewayRequests, RequestError } from "../../../../lib/gateway/mod.ts";
import type { Finding, ToolCallEvent } from "../../../../lib/rules/mod.ts";
import {
  type LockedSession,
  type LockRules,
  preventedOutcome,
  Prevention,
  sessionOf,
} from "../../../../lib/service/enforce/mod.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { decodeSnapshot, encodeSnapshot } from "../../../../lib/service/snapshot.ts";

/** A gateway with sessions and their modes: answers sessions.list and sessions.patch as OpenClaw does. */
class FakeGateway implements GatewayRequests {
  readonly scopes = ["operator.read", "operator.write"];
  readonly patches: Record<string, unknown>[] = [];
  /** What the record held when each patch was sent. */
  readonly recordAtPatch: number[] = [];
  constructor(readonly modes: Map<string, { agent: string; mode: string | null }>) {}
  record: () => number = () => 0;
  /** Sessions whose next patch is refused as an active run's would be. */
  readonly busy = new Set<string>();
  /** Runs once the list is taken, before it is answered. */
  afterList: () => void = () => {};
  /** Runs as each patch is taken, before it is answered. */
  onPatch: (p: Record<string, unknown>) => void = () => {};
  /** Sessions whose next patch lands but whose answer is lost (the connection closed). */
  readonly lost = new Set<string>();
  /** Sessions whose patches are refused for another reason than a changed mode. */
  readonly refused = new Set<string>();
  request<T>(method: string, params?: unknown): Promise<T> {
    const p = params as Record<string, unknown>;
    if (method === "sessions.list") {
      const sessions = [...this.modes].map(([key, s]) => ({
        key,
        agentId: s.agent,
        ...(s.mode !== null ? { permissionMode: s.mode } : {}),
      }));
      this.afterList();
      return Promise.resolve({ sessions, hasMore: false } as T);
    }
    this.patches.push(p);
    this.recordAtPatch.push(this.record());
    this.onPatch(p);
    if (this.refused.has(p.key as string)) {
      return Promise.reject(
        new RequestError("sessions.patch", { code: "UNAVAILABLE", message: "Store busy." }),
      );
    }
    if (this.busy.delete(p.key as string)) {
      return Promise.reject(
        new RequestError("sessions.patch", {
          code: "INVALID_REQUEST",
          message: "This run cannot apply permissions while active.",
        }),
      );
    }
    const s = this.modes.get(p.key as string);
    if (s === undefined || s.mode !== p.expectedPermissionMode) {
      return Promise.reject(
        new RequestError("sessions.patch", {
          code: "INVALID_REQUEST",
          message: `Session ${p.key} changed before patch. Retry.`,
          details: { reason: "session-changed" },
        }),
      );
    }
    s.mode = p.permissionMode as string | null;
    if (this.lost.delete(p.key as string)) {
      return Promise.reject(
        new Error("Connection closed (code 1006) before sessions.patch was answered"),
      );
    }
    return Promise.resolve({ ok: true } as T);
  }
}

function setUp(
  lock: Partial<LockRules>,
  modes: Record<string, string | null>,
  mayPatch = () => true,
) {
  const gw = new FakeGateway(
    new Map(Object.entries(modes).map(([k, m]) => [k, { agent: k.split(":")[1]!, mode: m }])),
  );
  const saved: LockedSession[][] = [];
  const warnings: string[] = [];
  let rules: LockRules = {
    enforcing: true,
    scout: false,
    governed: (a) => a !== "main",
    observer: (a) => a === "observer",
    ...lock,
  };
  const prevention = new Prevention({
    rules: () => rules,
    mayPatch,
    admin: () => false,
    save: () => {
      saved.push(prevention.snapshot());
      return Promise.resolve(true);
    },
    logger: new Logger("text", (line, level) => {
      if (level === "warn") warnings.push(line);
    }),
  });
  gw.record = () => prevention.snapshot().length;
  return {
    gw,
    prevention,
    saved,
    warnings,
    set: (o: Partial<LockRules>) => (rules = { ...rules, ...o }),
  };
}

Deno.test("scout locks governed sessions, recorded and saved before each patch; offense gives them back", async () => {
  const t = setUp({ scout: true }, {
    "agent:primary:g": null,
    "agent:secondary:g": "guarded",
    "agent:main:g": null,
  });
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
  assertEquals(t.gw.modes.get("agent:secondary:g")!.mode, "read-only");
  assertEquals(t.gw.modes.get("agent:main:g")!.mode, null);
  // Saved as under way before the patches, and saved again with what came of them.
  assertEquals(t.saved[0]!.map((l) => [l.key, l.pending]).sort(), [
    ["agent:primary:g", true],
    ["agent:secondary:g", true],
  ]);
  assertEquals(t.saved.at(-1)!.map((l) => [l.key, l.pending]).sort(), [
    ["agent:primary:g", undefined],
    ["agent:secondary:g", undefined],
  ]);
  assertEquals(t.gw.recordAtPatch, [2, 2]);
  assertEquals(t.prevention.locked, 2);
  assert(t.prevention.lockedByUs("agent:primary:g"));

  t.set({ scout: false });
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, null);
  assertEquals(t.gw.modes.get("agent:secondary:g")!.mode, "guarded");
  assertEquals(t.prevention.snapshot(), []);
});

Deno.test("not in force (operator.write not held): nothing is listed, patched or recorded", async () => {
  let inForce = false;
  const t = setUp({ scout: true }, { "agent:primary:g": null }, () => inForce);
  const requests: string[] = [];
  await t.prevention.connection({
    scopes: ["operator.read"],
    request: (m, p) => (requests.push(m), t.gw.request(m, p)),
  });
  assertEquals([requests, t.prevention.snapshot()], [[], []]);
  // Granted on a later connection: in force then.
  inForce = true;
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
});

Deno.test("a session that appears later is locked as its event arrives", async () => {
  const t = setUp({ scout: true }, {});
  await t.prevention.connection(t.gw);
  t.gw.modes.set("agent:primary:late", { agent: "primary", mode: null });
  t.prevention.gatewayEvent({
    type: "event",
    event: "sessions.changed",
    payload: {
      sessionKey: "agent:primary:late",
      agentId: "primary",
      reason: "create",
      permissionMode: null,
      session: { key: "agent:primary:late", agentId: "primary" },
    },
  });
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:late")!.mode, "read-only");
});

Deno.test("a lock the gateway refused is not recorded, and is tried again at the session's next event", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": null });
  t.gw.busy.add("agent:primary:g");
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, null);
  assertEquals(t.prevention.snapshot(), []);
  // The run's end: an event with the same mode.
  t.prevention.gatewayEvent({
    type: "event",
    event: "sessions.changed",
    payload: { sessionKey: "agent:primary:g", agentId: "primary", permissionMode: null },
  });
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
  assertEquals(t.prevention.locked, 1);
});

Deno.test("a mode the user set after the lock is never overridden: the restore is refused and forgotten", async () => {
  // Recorded by an earlier run; the user set guarded while the coordinator was stopped.
  const t = setUp({ scout: false }, { "agent:primary:g": "guarded" });
  t.prevention.restore([
    { key: "agent:primary:g", agent: "primary", previous: null, set: "read-only" },
  ]);
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "guarded");
  // The gateway's compare-and-set is what tells: the restore expects the mode set.
  assertEquals(t.gw.patches.map((p) => p.expectedPermissionMode), ["read-only"]);
  assertEquals(t.prevention.snapshot(), []);
});

Deno.test("a restore the gateway refuses as changed meanwhile is forgotten, the mode left", async () => {
  const t = setUp({ scout: false }, { "agent:primary:g": "read-only" });
  t.prevention.restore([
    { key: "agent:primary:g", agent: "primary", previous: null, set: "read-only" },
  ]);
  // Listed as the coordinator left it, then changed by someone else just before the patch.
  t.gw.afterList = () => t.gw.modes.get("agent:primary:g")!.mode = "workspace";
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "workspace");
  assertEquals(t.gw.patches.length, 1);
  assertEquals(t.prevention.snapshot(), []);
});

Deno.test("the record goes through the snapshot and back; older snapshots have none", () => {
  const record: LockedSession[] = [
    { key: "agent:primary:g", agent: "primary", previous: null, set: "read-only" },
    { key: "agent:observer:g", agent: "observer", previous: "guarded", set: "read-only" },
    {
      key: "agent:secondary:g",
      agent: "secondary",
      previous: null,
      set: "read-only",
      yielded: true,
    },
  ];
  const text = encodeSnapshot({
    savedAt: 1,
    rules: [],
    pending: () => [],
    prevented: () => record,
  });
  const back = decodeSnapshot(text, "s");
  assertEquals(back.prevented, record);
  assertEquals(back.rejected, []);
  const old = decodeSnapshot('{"format":2,"savedAt":1,"rules":{},"pending":[]}', "s");
  assertEquals(old.prevented, []);
  const v1 = decodeSnapshot('{"format":1,"savedAt":1,"pending":[]}', "s");
  assertEquals(v1.prevented, []);
  const bad = decodeSnapshot(
    '{"format":2,"savedAt":1,"rules":{},"pending":[],"prevented":[{"key":"k"},' +
      JSON.stringify(record[0]) + "]}",
    "s",
  );
  assertEquals(bad.prevented, [record[0]]);
  assertEquals(bad.rejected.map((r) => r.what), ["prevented[0]"]);
});

Deno.test("sessionOf reads list rows and sessions.changed events, the default mode as null", () => {
  assertEquals(sessionOf({ key: "k", agentId: "a" }), { key: "k", agent: "a", mode: null });
  // An event with neither a row nor the mode flattened says nothing of the mode.
  assertEquals(sessionOf({ sessionKey: "k", agentId: "a", reason: "x" }), {
    key: "k",
    agent: "a",
    mode: undefined,
  });
  assertEquals(
    sessionOf({ sessionKey: "k", agentId: "a", session: { key: "k" } }),
    { key: "k", agent: "a", mode: null },
  );
  assertEquals(
    sessionOf({ key: "k", agentId: "a", hasActiveRun: true, permissionMode: "guarded" }),
    { key: "k", agent: "a", mode: "guarded", active: true },
  );
  assertEquals(sessionOf({ key: "k", agentId: "a", permissionMode: "read-only" }), {
    key: "k",
    agent: "a",
    mode: "read-only",
  });
  assertEquals(
    sessionOf({ sessionKey: "k", agentId: "a", permissionMode: null, session: { key: "k" } }),
    { key: "k", agent: "a", mode: null },
  );
  assertEquals(sessionOf({ reason: "cron-bindings-loaded" }), undefined);
});

function changed(payload: Record<string, unknown>) {
  return { type: "event" as const, event: "sessions.changed", payload };
}

Deno.test("a lock whose answer is lost with the connection stays recorded, and is given back later", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": null });
  t.gw.lost.add("agent:primary:g");
  await t.prevention.connection(t.gw);
  // The patch landed; the coordinator cannot know, so the record stays as under way.
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
  assertEquals(t.saved.at(-1)!.map((l) => [l.key, l.pending]), [["agent:primary:g", true]]);
  // Reconnected after the posture left scout: the list shows the lock landed, and it is undone.
  t.set({ scout: false });
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, null);
  assertEquals(t.prevention.snapshot(), []);
});

Deno.test("a restore whose answer is lost stays recorded until the list shows it landed", async () => {
  const t = setUp({ scout: false }, { "agent:primary:g": "read-only" });
  t.prevention.restore([
    { key: "agent:primary:g", agent: "primary", previous: "guarded", set: "read-only" },
  ]);
  t.gw.lost.add("agent:primary:g");
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "guarded");
  assertEquals(t.prevention.snapshot().map((l) => l.pending), [true]);
  await t.prevention.connection(t.gw);
  assertEquals(t.prevention.snapshot(), []);
  assertEquals(t.gw.patches.length, 1);
});

Deno.test("a sessions.changed row still showing the old mode after the lock does not give the lock up", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": null });
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
  // The row right after the patch may still show the mode before.
  t.prevention.gatewayEvent(
    changed({ sessionKey: "agent:primary:g", agentId: "primary", permissionMode: null }),
  );
  await t.prevention.sync();
  // And an event without a row says nothing of the mode.
  t.prevention.gatewayEvent(changed({ sessionKey: "agent:primary:g", agentId: "primary" }));
  await t.prevention.sync();
  assert(t.prevention.lockedByUs("agent:primary:g"));
  t.set({ scout: false });
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, null);
  assertEquals(t.prevention.snapshot(), []);
});

Deno.test("a pending lock found landed after a crash is confirmed: a person's later change is theirs", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": "read-only" });
  t.prevention.restore([
    { key: "agent:primary:g", agent: "primary", previous: null, set: "read-only", pending: true },
  ]);
  await t.prevention.connection(t.gw);
  assertEquals(t.prevention.snapshot().map((l) => l.pending), [undefined]);
  assert(t.prevention.lockedByUs("agent:primary:g"));
  // A person gives the session its default mode back while scout lasts.
  t.gw.modes.get("agent:primary:g")!.mode = null;
  t.prevention.gatewayEvent(changed({
    sessionKey: "agent:primary:g",
    agentId: "primary",
    session: { key: "agent:primary:g", agentId: "primary" },
  }));
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, null);
  assertEquals(t.gw.patches, []);
});

Deno.test("not in force: events are not kept, so the list read once in force is not overridden", async () => {
  let inForce = false;
  const t = setUp({ scout: true }, { "agent:primary:g": "guarded" }, () => inForce);
  await t.prevention.connection(t.gw);
  // Seen while not in force; the mode changes after.
  t.prevention.gatewayEvent(
    changed({ sessionKey: "agent:primary:g", agentId: "primary", permissionMode: null }),
  );
  inForce = true;
  await t.prevention.sync();
  assertEquals(t.gw.patches.map((p) => p.expectedPermissionMode), ["guarded"]);
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
});

Deno.test("a session skipped, gone from the list and back, is said again (what is kept of it is dropped)", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": "full" });
  await t.prevention.connection(t.gw);
  await t.prevention.connection(t.gw);
  assertEquals(t.warnings.length, 1);
  t.gw.modes.delete("agent:primary:g");
  await t.prevention.connection(t.gw);
  t.gw.modes.set("agent:primary:g", { agent: "primary", mode: "full" });
  await t.prevention.connection(t.gw);
  assertEquals(t.warnings.length, 2);
});

Deno.test("a lock sent and not yet answered is not the coordinator's yet; a restore under way still is", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": null });
  const ours: boolean[] = [];
  t.gw.onPatch = () => ours.push(t.prevention.lockedByUs("agent:primary:g"));
  await t.prevention.connection(t.gw);
  assert(t.prevention.lockedByUs("agent:primary:g"));
  t.set({ scout: false });
  await t.prevention.sync();
  assertEquals(ours, [false, true]);
  assertEquals(t.prevention.lockedByUs("agent:primary:g"), false);
});

Deno.test("a lock refused during a run is tried again once the run has ended, and said once", async () => {
  const t = setUp({ scout: true }, { "agent:primary:g": null });
  t.gw.busy.add("agent:primary:g");
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.patches.length, 1);
  // Events of the running session: not yet.
  for (let i = 0; i < 3; i++) {
    t.prevention.gatewayEvent(changed({
      sessionKey: "agent:primary:g",
      agentId: "primary",
      session: { key: "agent:primary:g", agentId: "primary", hasActiveRun: true },
    }));
    await t.prevention.sync();
  }
  assertEquals(t.gw.patches.length, 1);
  // Refused again at the run's end: said once all the same.
  t.gw.busy.add("agent:primary:g");
  const ended = changed({
    sessionKey: "agent:primary:g",
    agentId: "primary",
    session: { key: "agent:primary:g", agentId: "primary", hasActiveRun: false },
  });
  t.prevention.gatewayEvent(ended);
  await t.prevention.sync();
  assertEquals(t.gw.patches.length, 2);
  assertEquals(t.warnings.length, 1);
  t.prevention.gatewayEvent(ended);
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, "read-only");
  assertEquals(t.prevention.locked, 1);
});

Deno.test("a restore refused for another reason stays recorded and is said once", async () => {
  const t = setUp({ scout: false }, { "agent:primary:g": "read-only" });
  t.prevention.restore([
    { key: "agent:primary:g", agent: "primary", previous: null, set: "read-only" },
  ]);
  t.gw.refused.add("agent:primary:g");
  await t.prevention.connection(t.gw);
  await t.prevention.sync();
  await t.prevention.connection(t.gw);
  assertEquals(t.gw.patches.length, 3);
  assertEquals(t.warnings.length, 1);
  assertEquals(t.prevention.snapshot().map((l) => [l.key, l.pending]), [[
    "agent:primary:g",
    undefined,
  ]]);
  t.gw.refused.clear();
  await t.prevention.sync();
  assertEquals(t.gw.modes.get("agent:primary:g")!.mode, null);
  assertEquals(t.prevention.snapshot(), []);
});

const FINDING: Finding = {
  id: "f",
  rule: "posture",
  action: "posture_violation",
  at: 1,
  detail: "d",
  outcome: "logged",
  key: "tool_call",
  data: {},
};

function call(o: Partial<ToolCallEvent>): ToolCallEvent {
  return {
    kind: "tool_call",
    protocol: "openclaw",
    conversation: "g",
    agent: "primary",
    at: 1,
    source: "live",
    call: "c",
    tool: "write",
    args: {},
    argsHash: "h",
    status: "not_found",
    session: "agent:primary:g",
    ...o,
  };
}

Deno.test("blocked_and_logged only for a call refused in a session the coordinator locked", () => {
  const ours = (s: string) => s === "agent:primary:g";
  assertEquals(preventedOutcome(FINDING, call({}), ours).outcome, "blocked_and_logged");
  assertEquals(
    preventedOutcome(FINDING, call({ status: "blocked" }), ours).outcome,
    "blocked_and_logged",
  );
  assertEquals(preventedOutcome(FINDING, call({ status: "executed" }), ours).outcome, "logged");
  assertEquals(
    preventedOutcome(FINDING, call({ session: "agent:primary:x" }), ours).outcome,
    "logged",
  );
  assertEquals(preventedOutcome(FINDING, call({ session: undefined }), ours).outcome, "logged");
});
