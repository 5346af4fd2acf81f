import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import {
  type GovernanceDriftRecord,
  GovernanceDriftRule,
} from "../../../../lib/rules/governance_drift/governance_drift_rule.ts";
import type { GatewayToolPolicy } from "../../../../lib/rules/governance_drift/tool_policy.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../../../../lib/rules/governance.ts";
import { type Finding, isFinding } from "../../../../lib/rules/finding.ts";
import type { GovernanceEvent, ToolPolicyEvent } from "../../../../lib/rules/event.ts";
import { RoleMap } from "../../../../lib/rules/roles.ts";

const T = 1_800_000_000_000;
const DEFAULT_POLICY: GatewayToolPolicy = {
  global: {},
  agents: { primary: {}, secondary: {}, observer: {} },
};
const READ_ONLY: GatewayToolPolicy = {
  global: { deny: ["group:fs", "group:runtime", "group:openclaw", "canvas"] },
  agents: { primary: {}, secondary: {}, observer: {} },
};

function rig(roles: Record<string, string> = {}) {
  const findings: Finding<GovernanceDriftRecord>[] = [];
  let governance: Governance = DEFAULT_GOVERNANCE;
  const roleMap = new RoleMap(roles, ["primary", "secondary", "observer"]);
  const rule = new GovernanceDriftRule({ roleOf: (a) => roleMap.resolve(a) });
  const engine = new RuleEngine([rule], {
    governance: () => governance,
    onFinding: (f) => findings.push(f as Finding<GovernanceDriftRecord>),
  });
  let at = T;
  const posture = (p: string) => {
    governance = { ...governance, fields: { ...governance.fields, posture: p } };
    const e: GovernanceEvent = {
      kind: "governance",
      to: { ...governance.fields },
      at: ++at,
      source: "live",
      id: `mtime ${at}`,
    };
    engine.handle(e);
  };
  const policy = (p: GatewayToolPolicy, hash = JSON.stringify(p)) => {
    const e: ToolPolicyEvent = { kind: "tool_policy", policy: p, hash, at: ++at, source: "live" };
    engine.handle(e);
  };
  return { rule, engine, findings, posture, policy };
}

Deno.test("none while governance allows mutation and no agent is an observer", () => {
  const { findings, policy, posture } = rig({ observer: "primary" });
  policy(DEFAULT_POLICY);
  posture("offense");
  assertEquals(findings, []);
});

Deno.test("posture scout with an allowing policy: one finding naming each agent and its tools", () => {
  const { findings, policy, posture, rule } = rig({ observer: "primary" });
  policy(DEFAULT_POLICY);
  posture("scout");
  assertEquals(findings.length, 1);
  const f = findings[0]!;
  assert(isFinding(f));
  assertEquals([f.action, f.key, f.rule], [
    "governance_drift",
    "governance_drift",
    "governance_drift",
  ]);
  assertEquals(f.data.mismatches.map((m) => `${m.agent} ${m.because}`), [
    "observer posture scout",
    "primary posture scout",
    "secondary posture scout",
  ]);
  assert(f.data.mismatches[0]!.allowed.includes("write"));
  assertStringIncludes(f.detail, "primary (posture scout) may use write, edit, apply_patch, exec");
  assertEquals(f.data.posture, "scout");
  assertEquals(rule.current().length, 3);
  assertEquals(rule.stats(), { policyReads: 1, mismatches: 3 });
  // The same policy read again (a reconnect) and the same governance: nothing new.
  policy(DEFAULT_POLICY);
  posture("scout");
  assertEquals(findings.length, 1);
  // Back to offense: the mismatches end, nothing is recorded.
  posture("offense");
  assertEquals(findings.length, 1);
  assertEquals(rule.current(), []);
});

Deno.test("an observer whose policy allows mutating tools is a mismatch under any posture", () => {
  const { findings, policy } = rig();
  policy(DEFAULT_POLICY);
  assertEquals(findings.length, 1);
  assertEquals(findings[0]!.agent, "observer");
  assertEquals(findings[0]!.data.mismatches.map((m) => m.because), ["role observer"]);
});

Deno.test("none when the policy denies the mutating tools; a policy that lets one back is a new mismatch", () => {
  const { findings, policy, posture } = rig();
  posture("scout");
  policy(READ_ONLY);
  assertEquals(findings, []);
  const leaky: GatewayToolPolicy = {
    ...READ_ONLY,
    agents: { ...READ_ONLY.agents, secondary: { alsoAllow: ["exec"] } },
  };
  // alsoAllow cannot grant back what the global deny takes away.
  policy(leaky);
  assertEquals(findings, []);
  const looser: GatewayToolPolicy = { ...READ_ONLY, global: { deny: ["group:fs"] } };
  policy(looser);
  assertEquals(findings.length, 1);
  const tightened: GatewayToolPolicy = { ...READ_ONLY, global: { deny: ["group:fs", "exec"] } };
  policy(tightened);
  // Fewer tools left is a different mismatch: recorded once more.
  assertEquals(findings.length, 2);
  assert(!findings[1]!.data.mismatches[0]!.allowed.includes("exec"));
  policy(READ_ONLY);
  assertEquals(findings.length, 2);
});

Deno.test("before the policy is read there is nothing to judge", () => {
  const { findings, posture } = rig();
  posture("scout");
  assertEquals(findings, []);
});

Deno.test("saved state round trip: the mismatches recorded are not recorded again after a restart", () => {
  const first = rig();
  first.policy(DEFAULT_POLICY);
  first.posture("scout");
  assertEquals(first.findings.length, 2);
  let saved = "";
  first.rule.saveState((j) => saved += j);

  const second = rig();
  assertEquals(second.rule.restoreState(JSON.parse(saved)), undefined);
  assertEquals(second.rule.current(), first.rule.current());
  second.posture("scout");
  second.policy(DEFAULT_POLICY);
  assertEquals(second.findings, []);
  // A finding's id derives from the policy, the governance and the mismatches.
  const third = rig();
  third.policy(DEFAULT_POLICY);
  const again = rig();
  again.policy(DEFAULT_POLICY);
  assertEquals(third.findings[0]!.id, again.findings[0]!.id);
});

Deno.test("restoreState refuses what it cannot read", () => {
  const { rule } = rig();
  for (
    const bad of [null, [], { active: 1 }, { active: [{ agent: "a", because: "x", allowed: [] }] }]
  ) {
    let threw = false;
    try {
      rule.restoreState(bad);
    } catch {
      threw = true;
    }
    assert(threw, JSON.stringify(bad));
  }
});

Deno.test("the record keeps policy facts only, lists bounded", () => {
  const { findings, policy, posture } = rig();
  posture("scout");
  const long = Array.from({ length: 500 }, (_, i) => `t${i}${"x".repeat(300)}`);
  policy({ global: { deny: long }, agents: { solo: { profile: "coding" } } });
  const rec = findings[0]!.data;
  assertEquals(rec.policy.global.deny!.length, 64);
  assert(rec.policy.global.deny!.every((s) => s.length <= 128));
  assertEquals(rec.policy.agents, { solo: { profile: "coding" } });
});
