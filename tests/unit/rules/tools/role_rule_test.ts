import { assertEquals } from "../../../support/assert.ts";
import { RoleRule, type ToolClass, ToolClassifier } from "../../../../lib/rules/tools/mod.ts";
import { RoleMap } from "../../../../lib/rules/roles.ts";
import { DEFAULT_SEQUENCE } from "../../../../lib/rules/sequence.ts";
import { governance, ONE_OF_EACH, toolCall, ToolRig } from "../../../support/tool_calls.ts";

const CLASSES = Object.keys(ONE_OF_EACH) as ToolClass[];
const ROLES = new RoleMap({ Watcher: "Observer", lead: "primary" }, DEFAULT_SEQUENCE);

function flagged(agent: string): ToolClass[] {
  const rig = new ToolRig([new RoleRule(new ToolClassifier(), ROLES)]);
  return CLASSES.filter((c) => {
    const [tool, args] = ONE_OF_EACH[c];
    return rig.judge(toolCall(tool, args, { agent }), governance("none", "offense")).length > 0;
  });
}

Deno.test("role observer flags every call that is not read, for an agent mapped to observer", () => {
  assertEquals(flagged("watcher"), ["write", "outbound", "destructive", "external"]);
  assertEquals(flagged("  WATCHER "), ["write", "outbound", "destructive", "external"]);
});

Deno.test("an agent named like the observer role is an observer too", () => {
  assertEquals(flagged("observer"), ["write", "outbound", "destructive", "external"]);
});

Deno.test("role observer flags nothing for a primary or an agent outside the sequence", () => {
  assertEquals(flagged("lead"), []);
  assertEquals(flagged("primary"), []);
  assertEquals(flagged("stranger"), []);
});

Deno.test("role observer flags even under offense and mode none, and even a guarded exec", () => {
  const rig = new ToolRig([new RoleRule(new ToolClassifier(), ROLES)]);
  const rm = toolCall("exec", { command: "rm x" }, { agent: "watcher", permissionMode: "guarded" });
  const [f] = rig.judge(rm, governance("none", "offense"));
  assertEquals([f!.rule, f!.action], ["role", "role_violation"]);
  assertEquals(
    f!.detail,
    "Role violation in conversation agent:main:main: watcher ran exec, class destructive (runs " +
      "rm), which role observer (cannot initiate actions) forbids",
  );
  assertEquals((f!.data as { confirmation: string }).confirmation, "confirmed");
});

Deno.test("the role rule counts the observer's calls it judged", () => {
  const rig = new ToolRig([new RoleRule(new ToolClassifier(), ROLES)]);
  rig.judge(toolCall("read", { path: "a" }, { agent: "watcher" }));
  rig.judge(toolCall("write", { path: "a" }, { agent: "watcher" }));
  rig.judge(toolCall("write", { path: "a" }, { agent: "lead" }));
  assertEquals(rig.engine.status().role, {
    evaluated: 3,
    findings: 1,
    stats: { observerCalls: 2 },
  });
});
