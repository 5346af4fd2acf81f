import { assertEquals } from "../../../support/assert.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { RuleDeadlines } from "../../../../lib/service/daemon/rule_deadlines.ts";
import { AuditRule } from "../../../../lib/rules/audit/audit_rule.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { DEFAULT_GOVERNANCE } from "../../../../lib/rules/governance.ts";
import type { Finding } from "../../../../lib/rules/finding.ts";
import type { RunEvent } from "../../../../lib/rules/event.ts";

function run(phase: "start" | "answered", at: number): RunEvent {
  return {
    kind: "run",
    protocol: "openclaw",
    conversation: "c",
    agent: "primary",
    at,
    source: "live",
    run: "r",
    phase,
    recordedAt: at,
  };
}

Deno.test("no timer while no rule has a deadline; one at the deadline, which makes the finding", async () => {
  const clock = new FakeClock();
  const findings: Finding[] = [];
  const rules = new RuleEngine([new AuditRule({ governed: () => true })], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => findings.push(f),
  });
  const deadlines = new RuleDeadlines(rules, clock);
  deadlines.check();
  assertEquals([deadlines.armed, clock.pending], [false, 0]);
  rules.handle(run("start", clock.now()));
  deadlines.check();
  assertEquals(clock.pending, 0);
  rules.handle(run("answered", clock.now()));
  deadlines.check();
  deadlines.check(); // asking again does not arm a second timer
  assertEquals(clock.pending, 1);
  await clock.tick(1_999);
  assertEquals(findings, []);
  await clock.tick(1);
  assertEquals(findings.map((f) => f.action), ["audit_missing"]);
  assertEquals([deadlines.armed, clock.pending], [false, 0]);
});
