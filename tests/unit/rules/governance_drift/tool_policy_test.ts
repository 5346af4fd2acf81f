import { assertEquals } from "../../../support/assert.ts";
import {
  allowedMutatingTools,
  type GatewayToolPolicy,
  MUTATING_TOOLS,
  policyAgents,
} from "../../../../lib/rules/governance_drift/tool_policy.ts";

const policy = (p: Partial<GatewayToolPolicy>): GatewayToolPolicy => ({
  global: {},
  agents: {},
  ...p,
});

const ALL = [...MUTATING_TOOLS];
const without = (...names: string[]) => ALL.filter((t) => !names.includes(t));

Deno.test("an unset policy allows every tool, mutating ones included", () => {
  assertEquals(allowedMutatingTools(policy({}), "main"), ALL);
  assertEquals(allowedMutatingTools(policy({ agents: { a: {} } }), "a"), ALL);
});

Deno.test("deny names tools, groups, aliases and globs, case-insensitively", () => {
  const p = (deny: string[]) => allowedMutatingTools(policy({ global: { deny } }), "main");
  assertEquals(p(["write"]), without("write"));
  // write and apply_patch are separate tools: denying write leaves apply_patch.
  assert(p(["write"]).includes("apply_patch"));
  assertEquals(p(["group:fs"]), without("write", "edit", "apply_patch"));
  assertEquals(p(["group:runtime"]), without("exec", "process", "code_execution"));
  assertEquals(p(["BASH", " Cron "]), without("exec", "automations"));
  assertEquals(
    p(["sessions_*", "conversations_*"]),
    without(
      "sessions_spawn",
      "sessions_send",
      "conversations_send",
      "conversations_turn",
    ),
  );
  assertEquals(p(["*"]), []);
  // An unknown group or tool denies nothing of these.
  assertEquals(p(["group:plugins", "browser"]), ALL);
});

Deno.test("an allow list leaves only what it names; write in it lets apply_patch through", () => {
  const p = (allow: string[], deny?: string[]) =>
    allowedMutatingTools(policy({ global: { allow, ...(deny ? { deny } : {}) } }), "main");
  assertEquals(p(["read", "web_search"]), []);
  assertEquals(p(["read", "write"]), ["write", "apply_patch"]);
  assertEquals(p(["group:fs"], ["write"]), ["edit", "apply_patch"]);
  // An empty allow list is no allow list.
  assertEquals(p([]), ALL);
  // Deny wins over allow.
  assertEquals(p(["exec"], ["exec"]), []);
});

Deno.test("alsoAllow alone widens nothing: everything plus those", () => {
  const p = policy({ global: { alsoAllow: ["message"], deny: ["group:fs"] } });
  assertEquals(allowedMutatingTools(p, "main"), without("write", "edit", "apply_patch"));
});

Deno.test("profiles: minimal leaves gateway, messaging its senders, coding most, full all", () => {
  const p = (profile: string, extra: Partial<GatewayToolPolicy["global"]> = {}) =>
    allowedMutatingTools(policy({ global: { profile, ...extra } }), "main");
  assertEquals(p("minimal"), ["gateway"]);
  assertEquals(p("minimal", { deny: ["gateway"] }), []);
  assertEquals(p("messaging"), [
    "sessions_spawn",
    "sessions_send",
    "conversations_send",
    "conversations_turn",
    "message",
    "gateway",
  ]);
  assertEquals(p("coding"), without("message", "nodes", "canvas"));
  assertEquals(p("full"), ALL);
  // alsoAllow widens the profile (write brings apply_patch), still under deny.
  assertEquals(p("minimal", { alsoAllow: ["exec", "write"], deny: ["gateway"] }), [
    "write",
    "apply_patch",
    "exec",
  ]);
  // A profile OpenClaw does not know filters nothing.
  assertEquals(p("nonesuch"), ALL);
});

Deno.test("per agent: the agent's profile replaces the global one; its lists narrow further", () => {
  const p = policy({
    global: { profile: "minimal", deny: ["nodes"] },
    agents: {
      coder: { profile: "coding" },
      reader: { deny: ["gateway"] },
      narrow: { profile: "full", allow: ["exec", "nodes"] },
      plain: {},
    },
  });
  assertEquals(allowedMutatingTools(p, "coder"), without("message", "nodes", "canvas"));
  assertEquals(allowedMutatingTools(p, "reader"), []);
  // The global deny still holds: an agent's allow cannot grant back what it denies.
  assertEquals(allowedMutatingTools(p, "narrow"), ["exec"]);
  assertEquals(allowedMutatingTools(p, "plain"), ["gateway"]);
  assertEquals(allowedMutatingTools(p, "Coder"), allowedMutatingTools(p, "coder"));
  assertEquals(policyAgents(p), ["coder", "narrow", "plain", "reader"]);
});

Deno.test("the agent's alsoAllow replaces the global one for the profile", () => {
  const p = policy({
    global: { profile: "minimal", alsoAllow: ["exec"] },
    agents: { a: { alsoAllow: ["write"] }, b: {} },
  });
  assertEquals(allowedMutatingTools(p, "a"), ["write", "apply_patch", "gateway"]);
  assertEquals(allowedMutatingTools(p, "b"), ["exec", "gateway"]);
});

Deno.test("without named agents, main runs with agents.defaults.tools", () => {
  const p = policy({ defaults: { deny: ["*"] } });
  assertEquals(policyAgents(p), ["main"]);
  assertEquals(allowedMutatingTools(p, "main"), []);
});

function assert(cond: boolean): void {
  if (!cond) throw new Error("assertion failed");
}
