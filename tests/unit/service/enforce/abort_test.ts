/**
 * The abort level with a fake gateway: an out-of-turn run's one finding is
 * `blocked_and_logged` only when the gateway answered `aborted: true` and the run ended
 * aborted; every other way it is `logged`, saying why.
 */
import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { FakeClock, flushMicrotasks } from "../../../support/fake_clock.ts";
import { RunAborter } from "../../../../lib/service/enforce/abort.ts";
import { RequestError } from "../../../../lib/gateway/openclaw/connection.ts";
import type { GatewayRequests } from "../../../../lib/gateway/openclaw/watch.ts";
import type { RuleEvent, RunEvent, TurnEvent } from "../../../../lib/rules/event.ts";
import type { Finding } from "../../../../lib/rules/finding.ts";
import { SequenceRule } from "../../../../lib/rules/sequence_rule.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../../../../lib/rules/sequence.ts";
import { RoleMap } from "../../../../lib/rules/roles.ts";
import { DEFAULT_GOVERNANCE } from "../../../../lib/rules/governance.ts";

type Answer = (params: Record<string, unknown>) => Promise<unknown>;

const run = (phase: RunEvent["phase"], extra: Partial<RunEvent> = {}): RunEvent => ({
  kind: "run",
  protocol: "openclaw",
  conversation: "c1",
  agent: "secondary",
  at: 1_000,
  id: "run-id-r1",
  session: "agent:secondary:c1",
  source: "live",
  run: "r1",
  phase,
  recordedAt: 1_000,
  ...extra,
});

/** An aborter over a real sequence rule and a fake gateway whose `chat.abort` answers with `answer`. */
function setup(opts: { answer?: Answer; notInForce?: string; connected?: boolean } = {}) {
  const clock = new FakeClock(0);
  const rule = new SequenceRule(
    new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e9, maxConversations: 100 }),
    new RoleMap({}, DEFAULT_SEQUENCE),
  );
  const asked: Record<string, unknown>[] = [];
  const requests: GatewayRequests = {
    scopes: ["operator.read", "operator.write", "operator.admin"],
    request<T>(method: string, params?: unknown): Promise<T> {
      assertEquals(method, "chat.abort");
      asked.push(params as Record<string, unknown>);
      return (opts.answer ?? (() => Promise.resolve({ ok: true, aborted: true })))(
        params as Record<string, unknown>,
      ) as Promise<T>;
    },
  };
  const made: { finding: Finding; event: RuleEvent }[] = [];
  const settled: Finding[] = [];
  const aborter = new RunAborter({
    outOfTurn: (c, a, now) => rule.outOfTurn(c, a, { governance: DEFAULT_GOVERNANCE, now }),
    sequence: DEFAULT_SEQUENCE,
    requests: () => opts.connected === false ? undefined : requests,
    notInForce: () => opts.notInForce,
    onFinding: (finding, event, later) => {
      made.push({ finding, event });
      void later.then((f) => settled.push(f));
    },
    clock,
    confirmMs: 5_000,
  });
  // What the daemon does: the aborter sees each event first, then the rules judge what it
  // hands on.
  const written: Finding[] = [];
  const feed = (event: RuleEvent) => {
    const e = aborter.event(event);
    if (e.kind !== "turn") return;
    const f = rule.evaluate(e, { governance: DEFAULT_GOVERNANCE, newId: () => "new" });
    if (f !== undefined) written.push(f);
  };
  return { clock, rule, aborter, asked, made, settled, written, feed };
}

const turnOf = (agent: string, runId: string): TurnEvent => ({
  kind: "turn",
  protocol: "openclaw",
  conversation: "c1",
  agent,
  at: 1_100,
  id: `run-id-${runId}`,
  session: `agent:${agent}:c1`,
  source: "live",
  run: runId,
});

const enforcement = (f: Finding) => (f.data as { enforcement?: unknown }).enforcement;

Deno.test("aborted and ended aborted: blocked_and_logged", async () => {
  const s = setup();
  s.feed(run("start"));
  assertEquals(s.asked, [{ sessionKey: "agent:secondary:c1", runId: "r1" }]);
  assertEquals(s.made.length, 1);
  // Until it settles, what a crash would write: logged, not confirmed.
  assertEquals(s.made[0]!.finding.outcome, "logged");
  assertStringIncludes(JSON.stringify(enforcement(s.made[0]!.finding)), "not confirmed");
  await flushMicrotasks();
  assertEquals(s.settled, []);
  s.feed(run("ended", { aborted: true }));
  await flushMicrotasks();
  assertEquals(s.settled.length, 1);
  const f = s.settled[0]!;
  assertEquals(f.outcome, "blocked_and_logged");
  assertEquals(enforcement(f), { action: "abort", result: "aborted" });
  assertEquals([f.id, f.rule, f.action, f.conversation, f.agent], [
    "run-id-r1",
    "sequence",
    "sequence_violation",
    "c1",
    "secondary",
  ]);
  assertEquals((f.data as { expected: string }).expected, "primary");
  assertEquals(s.aborter.counts, { aborts: 1, blocked: 1 });
  assertEquals(s.aborter.waiting, 0);
});

Deno.test("the aborted end seen before the gateway's answer still needs the answer", async () => {
  let answer!: (v: unknown) => void;
  const s = setup({ answer: () => new Promise((r) => answer = r) });
  s.feed(run("start"));
  s.feed(run("ended", { aborted: true }));
  await flushMicrotasks();
  assertEquals(s.settled, []);
  answer({ ok: true, aborted: true });
  await flushMicrotasks();
  assertEquals(s.settled[0]!.outcome, "blocked_and_logged");
});

Deno.test("aborted: false is too late, logged", async () => {
  const s = setup({ answer: () => Promise.resolve({ ok: true, aborted: false, runIds: [] }) });
  s.feed(run("start"));
  await flushMicrotasks();
  assertEquals(s.settled.map((f) => [f.outcome, enforcement(f)]), [
    ["logged", { action: "abort", result: "too late" }],
  ]);
  assertStringIncludes(s.settled[0]!.detail, "not aborted: too late");
});

Deno.test("a run that ended without being aborted is too late, whatever the answer says", async () => {
  const s = setup({ answer: () => new Promise(() => {}) });
  s.feed(run("start"));
  s.feed(run("ended"));
  await flushMicrotasks();
  assertEquals(s.settled.map((f) => [f.outcome, enforcement(f)]), [
    ["logged", { action: "abort", result: "too late" }],
  ]);
});

Deno.test("an error from the gateway is refused, with its code, logged", async () => {
  const s = setup({
    answer: () =>
      Promise.reject(
        new RequestError("chat.abort", { code: "INVALID_REQUEST", message: "unauthorized" }),
      ),
  });
  s.feed(run("start"));
  await flushMicrotasks();
  assertEquals(s.settled.map((f) => [f.outcome, enforcement(f)]), [
    ["logged", { action: "abort", result: "refused: INVALID_REQUEST" }],
  ]);
});

Deno.test("not in force: no abort asked, logged saying why", async () => {
  const s = setup({ notInForce: "the gateway did not grant operator.admin" });
  s.feed(run("start"));
  const t = setup({ connected: false });
  t.feed(run("start"));
  await flushMicrotasks();
  assertEquals([s.asked, t.asked], [[], []]);
  assertEquals(s.settled.map((f) => [f.outcome, enforcement(f)]), [
    ["logged", {
      action: "abort",
      result: "not in force: the gateway did not grant operator.admin",
    }],
  ]);
  assertEquals(enforcement(t.settled[0]!), {
    action: "abort",
    result: "not in force: not connected",
  });
});

Deno.test("a run found while catching up is never aborted: too late, logged", async () => {
  const s = setup();
  s.feed(run("start", { source: "catch-up" }));
  await flushMicrotasks();
  assertEquals(s.asked, []);
  assertEquals(s.settled.map((f) => [f.outcome, enforcement(f)]), [
    ["logged", { action: "abort", result: "too late: found while catching up" }],
  ]);
});

Deno.test("no confirmation within the bound: logged, never held", async () => {
  // No answer at all.
  const s = setup({ answer: () => new Promise(() => {}) });
  s.feed(run("start"));
  await s.clock.tick(4_999);
  await flushMicrotasks();
  assertEquals(s.settled, []);
  await s.clock.tick(1);
  await flushMicrotasks();
  assertEquals(enforcement(s.settled[0]!), {
    action: "abort",
    result: "not confirmed: no answer to chat.abort within 5 s",
  });
  // Answered aborted, but the run's end never seen.
  const t = setup();
  t.feed(run("start"));
  await flushMicrotasks();
  await t.clock.tick(5_000);
  await flushMicrotasks();
  assertEquals(t.settled.map((f) => [f.outcome, enforcement(f)]), [
    ["logged", {
      action: "abort",
      result: "not confirmed: the run's aborted end was not seen within 5 s",
    }],
  ]);
  assertEquals(t.aborter.waiting, 0);
});

Deno.test("settleAll (stop, connection ended) settles every waiting run as not confirmed", async () => {
  const s = setup({ answer: () => new Promise(() => {}) });
  s.feed(run("start"));
  s.feed(run("start", { run: "r2", id: "run-id-r2", conversation: "c2" }));
  s.aborter.settleAll("the coordinator stopped");
  await flushMicrotasks();
  assertEquals(s.settled.map((f) => [f.id, f.outcome, enforcement(f)]), [
    ["run-id-r1", "logged", { action: "abort", result: "not confirmed: the coordinator stopped" }],
    ["run-id-r2", "logged", { action: "abort", result: "not confirmed: the coordinator stopped" }],
  ]);
});

Deno.test("one finding per out-of-turn run, with or without the partial turn it leaves", async () => {
  const s = setup();
  const partial: TurnEvent = {
    kind: "turn",
    protocol: "openclaw",
    conversation: "c1",
    agent: "secondary",
    at: 1_100,
    id: "run-id-r1",
    session: "agent:secondary:c1",
    source: "live",
    run: "r1",
  };
  s.feed(run("start"));
  s.feed(run("ended", { aborted: true }));
  s.feed(partial);
  // A run aborted before any text leaves no turn: its finding is the one made at its start.
  s.feed(run("start", { run: "r2", id: "run-id-r2" }));
  s.feed(run("ended", { run: "r2", id: "run-id-r2", aborted: true }));
  await flushMicrotasks();
  assertEquals(s.written, []);
  assertEquals(s.made.map((m) => m.finding.id), ["run-id-r1", "run-id-r2"]);
  assertEquals(s.settled.map((f) => f.outcome), ["blocked_and_logged", "blocked_and_logged"]);
  // The aborted run did not count: secondary is still out of turn, and the rule's state
  // never moved.
  assertEquals(s.rule.engine.lastPosition("c1"), -1);
  assertEquals(s.rule.outOfTurn("c1", "secondary", { governance: DEFAULT_GOVERNANCE, now: 2 }), {
    role: "secondary",
    expected: "primary",
  });
  // Another run's out-of-turn answer is still judged by the rule as before.
  s.feed({ ...partial, id: "other", run: "r3" });
  assertEquals(s.written.map((f) => f.id), ["other"]);
});

Deno.test("an aborted run's partial answer does not count, even once it would be in turn", async () => {
  const s = setup();
  s.feed(run("start"));
  s.feed(run("ended", { aborted: true }));
  // Primary answers between the secondary run's start and the partial answer it left.
  s.feed({ ...turnOf("primary", "p1"), at: 1_050 });
  s.feed({ ...turnOf("secondary", "r1"), at: 1_100 });
  await flushMicrotasks();
  assertEquals(s.written, []);
  assertEquals(s.made.length, 1);
  // The order stands after primary: the aborted secondary run did not take its turn.
  assertEquals(s.rule.engine.lastPosition("c1"), 0);
  assertEquals(
    s.rule.outOfTurn("c1", "secondary", { governance: DEFAULT_GOVERNANCE, now: 2 }),
    undefined,
  );
});

Deno.test("an in-turn run is not touched, and its answer moves the order", async () => {
  const s = setup();
  s.feed(run("start", { agent: "primary", session: "agent:primary:c1" }));
  await flushMicrotasks();
  assertEquals([s.asked, s.made], [[], []]);
  s.feed({
    kind: "turn",
    protocol: "openclaw",
    conversation: "c1",
    agent: "primary",
    at: 1_100,
    id: "run-id-r1",
    source: "live",
    run: "r1",
  });
  assertEquals(s.written, []);
  // Now secondary is in turn: its run starts untouched.
  s.feed(run("start", { run: "r2", id: "run-id-r2" }));
  assertEquals(s.asked, []);
});
