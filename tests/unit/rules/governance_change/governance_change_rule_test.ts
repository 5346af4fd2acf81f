import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { GovernanceChangeRule } from "../../../../lib/rules/governance_change/governance_change_rule.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { DEFAULT_GOVERNANCE, type GovernanceFields } from "../../../../lib/rules/governance.ts";
import { type Finding, isFinding } from "../../../../lib/rules/finding.ts";
import type { GovernanceEvent, RunEvent } from "../../../../lib/rules/event.ts";

const T = 1_800_000_000_000;

function rig() {
  const findings: Finding[] = [];
  const rule = new GovernanceChangeRule({ governed: (a) => a !== "stranger" });
  const engine = new RuleEngine([rule], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => findings.push(f),
  });
  return { rule, engine, findings };
}

const gov = (posture: string, mode = "high-integrity"): GovernanceFields => ({
  mode,
  posture,
  role: "primary",
  session_hash: null,
});

function read(
  to: GovernanceFields,
  at: number,
  source: "live" | "catch-up" = "live",
): GovernanceEvent {
  return { kind: "governance", to, at, source };
}

function run(phase: "start" | "answered" | "ended", agent = "primary", r = "r1"): RunEvent {
  return {
    kind: "run",
    protocol: "openclaw",
    conversation: "c1",
    agent,
    at: T,
    session: `agent:${agent}:c1`,
    source: "live",
    run: r,
    phase,
    recordedAt: T,
  };
}

Deno.test("the first read is a baseline; each later change is one governance_change naming from and to", () => {
  const { engine, findings } = rig();
  engine.handle(read(gov("defense"), T));
  assertEquals(findings, []);
  engine.handle(read(gov("defense"), T + 1));
  assertEquals(findings, []);
  engine.handle(read(gov("scout", "high-security"), T + 2));
  assertEquals(findings.length, 1);
  const f = findings[0]!;
  assertEquals([f.action, f.key, isFinding(f)], ["governance_change", "governance_change", true]);
  assertStringIncludes(
    f.detail,
    'mode "high-integrity" -> "high-security", posture "defense" -> "scout"',
  );
  const d = f.data as { from: { posture: string }; to: { posture: string } };
  assertEquals([d.from.posture, d.to.posture], ["defense", "scout"]);
});

Deno.test("a change while a governed run is in progress is also a posture_drift naming the run", () => {
  const { engine, findings } = rig();
  engine.handle(read(gov("offense"), T));
  engine.handle(run("start"));
  engine.handle(run("start", "stranger", "r2"));
  engine.handle(read(gov("scout"), T + 1));
  assertEquals(findings.map((f) => f.action), ["governance_change", "posture_drift"]);
  const drift = findings[1]!;
  assertEquals([drift.agent, drift.conversation, (drift.data as { run: string }).run], [
    "primary",
    "c1",
    "r1",
  ]);
  engine.handle(run("answered"));
  engine.handle(read(gov("defense"), T + 2));
  assertEquals(findings.length, 3); // the run had ended: a change, no drift
});

Deno.test("a change found at start is recorded, but no run is said to have drifted", () => {
  const { engine, findings, rule } = rig();
  engine.handle(read(gov("offense"), T));
  engine.handle(run("start"));
  let json = "";
  rule.saveState((s) => json += s);
  const after = rig();
  after.rule.restoreState(JSON.parse(json));
  after.engine.handle(read(gov("scout"), T + 5, "catch-up"));
  assertEquals(after.findings.map((f) => f.action), ["governance_change"]);
  assertStringIncludes(after.findings[0]!.detail, "while the coordinator was not running");
  assertEquals(findings, []);
});

Deno.test("the same change read twice with the same identity has the same finding id", () => {
  const a = rig();
  const b = rig();
  for (const r of [a, b]) {
    r.engine.handle(read(gov("offense"), T));
    r.engine.handle({ ...read(gov("scout"), T + 1), id: "state.json@123" });
  }
  assertEquals(a.findings[0]!.id, b.findings[0]!.id);
});

Deno.test("a run that ended without an answer (aborted, failed) is no longer in progress", () => {
  const { engine, findings } = rig();
  engine.handle(read(gov("offense"), T));
  engine.handle(run("start"));
  engine.handle(run("ended"));
  engine.handle(read(gov("scout"), T + 1));
  assertEquals(findings.map((f) => f.action), ["governance_change"]);
});
