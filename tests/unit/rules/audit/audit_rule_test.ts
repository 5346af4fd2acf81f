import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { AuditRule, type AuditRuleOptions } from "../../../../lib/rules/audit/audit_rule.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { DEFAULT_GOVERNANCE } from "../../../../lib/rules/governance.ts";
import type { Finding } from "../../../../lib/rules/finding.ts";
import { isFinding } from "../../../../lib/rules/finding.ts";
import type { LedgerEntryEvent, RunEvent } from "../../../../lib/rules/event.ts";

const T = 1_800_000_000_000;

function rig(opts: Partial<AuditRuleOptions> = {}) {
  const findings: Finding[] = [];
  const rule = new AuditRule({ governed: (a) => a !== "stranger", ...opts });
  const engine = new RuleEngine([rule], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => findings.push(f),
  });
  return { rule, engine, findings };
}

function run(
  phase: "start" | "answered" | "ended",
  at: number,
  o: Partial<RunEvent> = {},
): RunEvent {
  return {
    kind: "run",
    protocol: "openclaw",
    conversation: "c1",
    agent: "primary",
    at,
    session: "agent:primary:c1",
    source: "live",
    run: "r1",
    phase,
    recordedAt: at,
    ...o,
  };
}

function entry(agent: string, recordedAt: number, at = recordedAt): LedgerEntryEvent {
  return { kind: "ledger_entry", agent, action: "audit", recordedAt, at, source: "live" };
}

Deno.test("a run whose agent logged between its start and its answer is audited", () => {
  const { engine, findings, rule } = rig();
  engine.handle(run("start", T));
  engine.handle(entry("primary", T + 500));
  engine.handle(run("answered", T + 1_000));
  assertEquals(engine.nextDue(), undefined);
  engine.expire(T + 60_000);
  assertEquals(findings, []);
  assertEquals(rule.stats().audited, 1);
});

Deno.test("an entry that lands after the answer, within the slack of the clocks, still counts", () => {
  const { engine, findings } = rig();
  engine.handle(run("start", T));
  engine.handle(run("answered", T + 1_000));
  assertEquals(engine.nextDue(), T + 3_000);
  // The agent's line was written just before the answer and read just after it.
  engine.handle(entry("primary", T + 900, T + 1_500));
  assertEquals(engine.nextDue(), undefined);
  engine.expire(T + 10_000);
  assertEquals(findings, []);
});

Deno.test("a run without its agent's entry is one audit_missing once the slack has passed", () => {
  const { engine, findings } = rig();
  engine.handle(run("start", T));
  engine.handle(run("answered", T + 1_000));
  assertEquals(engine.expire(T + 2_999), 0);
  assertEquals(engine.expire(T + 3_000), 1);
  assertEquals(engine.expire(T + 10_000), 0);
  const [f] = findings;
  assertEquals([f!.action, f!.key, f!.outcome, f!.conversation, f!.agent], [
    "audit_missing",
    "audit",
    "logged",
    "c1",
    "primary",
  ]);
  assertEquals(isFinding(f), true);
  assertStringIncludes(f!.detail, "primary answered (run r1) with no ledger entry of its own");
  assertEquals((f!.data as { ledger_agent: string }).ledger_agent, "primary");
});

Deno.test("another agent's entry, or an entry from before the run, does not count", () => {
  const { engine, findings } = rig();
  engine.handle(entry("primary", T - 10_000)); // an earlier run's
  engine.handle(run("start", T));
  engine.handle(entry("secondary", T + 100));
  engine.handle(run("answered", T + 1_000));
  engine.expire(T + 5_000);
  assertEquals(findings.length, 1);
});

Deno.test("the ledger name comes from the config's map; names compare trimmed, any case", () => {
  const { engine, findings } = rig({ ledgerName: (a) => a === "primary" ? " Alice " : a });
  engine.handle(run("start", T));
  engine.handle(entry("alice", T + 10));
  engine.handle(run("answered", T + 20));
  engine.expire(T + 5_000);
  assertEquals(findings, []);
});

Deno.test("agents that are not governed, and runs whose start was not seen, are not judged", () => {
  const { engine, findings, rule } = rig();
  engine.handle(run("start", T, { agent: "stranger" }));
  engine.handle(run("answered", T + 10, { agent: "stranger" }));
  engine.handle(run("answered", T + 10, { run: "r-unseen" }));
  engine.expire(T + 60_000);
  assertEquals(findings, []);
  assertEquals(rule.stats().unjudged, 1);
});

Deno.test("the same run's finding has the same id whenever it is made", () => {
  const a = rig();
  const b = rig();
  for (const r of [a, b]) {
    r.engine.handle(run("start", T, { id: "run-id" }));
    r.engine.handle(run("answered", T + 1, { id: "run-id" }));
    r.engine.expire(T + 5_000);
  }
  assertEquals(a.findings[0]!.id, b.findings[0]!.id);
});

Deno.test("entries and open runs survive a restart through the rule's saved state", () => {
  const { engine, rule } = rig();
  engine.handle(entry("primary", T + 5));
  engine.handle(run("start", T));
  let json = "";
  rule.saveState((s) => json += s);
  const after = rig();
  assertEquals(after.rule.restoreState(JSON.parse(json)), undefined);
  after.engine.handle(run("answered", T + 10));
  after.engine.expire(T + 60_000);
  assertEquals(after.findings, []);
});

Deno.test("memory is bounded: entries per agent and open runs", () => {
  const { engine, rule } = rig({ entriesPerAgent: 4, maxRuns: 3 });
  for (let i = 0; i < 10; i++) engine.handle(entry("primary", T + i));
  for (let i = 0; i < 10; i++) engine.handle(run("start", T, { run: `r${i}` }));
  let json = "";
  rule.saveState((s) => json += s);
  const s = JSON.parse(json);
  assertEquals(s.entries.primary, [T + 6, T + 7, T + 8, T + 9]);
  assertEquals(s.started.length, 3);
  assertEquals(rule.stats().runsOpen, 3);
});

Deno.test("a run's end arriving before its answer (as OpenClaw sends them) does not lose the run", () => {
  const { engine, findings } = rig();
  engine.handle(run("start", T));
  engine.handle(run("ended", T + 900));
  engine.handle(run("answered", T + 1_000));
  engine.expire(T + 5_000);
  assertEquals(findings.map((f) => f.action), ["audit_missing"]);
});

Deno.test("a run waiting for its entry at a stop is judged after the restart; no text is saved", () => {
  const { engine, rule } = rig();
  engine.handle(run("start", T));
  engine.handle({ ...run("answered", T + 1_000), text: "the agent's SECRET answer" });
  let json = "";
  rule.saveState((s) => json += s);
  assertEquals(json.includes("SECRET"), false);
  const after = rig();
  after.rule.restoreState(JSON.parse(json));
  assertEquals(after.engine.nextDue(), T + 3_000);
  after.engine.expire(T + 3_000);
  assertEquals(after.findings.map((f) => f.action), ["audit_missing"]);
});
