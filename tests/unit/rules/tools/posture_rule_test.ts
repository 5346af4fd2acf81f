import { assertEquals } from "../../../support/assert.ts";
import { PostureRule, type ToolClass, ToolClassifier } from "../../../../lib/rules/tools/mod.ts";
import { governance, ONE_OF_EACH, toolCall, ToolRig } from "../../../support/tool_calls.ts";

const CLASSES = Object.keys(ONE_OF_EACH) as ToolClass[];

// The classes of the calls the posture rule finds under `posture`, one call of each class.
function flagged(posture: string, more = {}): ToolClass[] {
  const rig = new ToolRig([new PostureRule(new ToolClassifier())]);
  return CLASSES.filter((c) => {
    const [tool, args] = ONE_OF_EACH[c];
    return rig.judge(toolCall(tool, args, more), governance("none", posture)).length > 0;
  });
}

Deno.test("posture scout flags every call that is not read, and no read call", () => {
  assertEquals(flagged("scout"), ["write", "outbound", "destructive", "external"]);
});

Deno.test("posture defense flags unconfirmed outbound and destructive calls, not write or external", () => {
  assertEquals(flagged("defense"), ["outbound", "destructive"]);
});

Deno.test("posture offense, and a posture the rule does not know, flag nothing", () => {
  assertEquals(flagged("offense"), []);
  assertEquals(flagged("unheard-of"), []);
  assertEquals(flagged(""), []);
});

Deno.test("the posture is matched trimmed and in any case", () => {
  const rig = new ToolRig([new PostureRule(new ToolClassifier())]);
  const write = toolCall("write", { path: "x" });
  assertEquals(rig.judge(write, governance("none", "  SCOUT ")).length, 1);
  assertEquals(rig.judge(write, governance("none", 7)).length, 0);
});

Deno.test("posture defense does not flag an exec that ran in a guarded session (an operator approved it)", () => {
  const rm = toolCall("exec", { command: "rm -rf build" }, { permissionMode: "guarded" });
  const rig = new ToolRig([new PostureRule(new ToolClassifier())]);
  assertEquals(rig.judge(rm, governance("none", "defense")), []);
  // Scout still flags it: confirmation does not make a call read-only.
  assertEquals(rig.judge(rm, governance("none", "scout")).length, 1);
});

Deno.test("posture defense flags any other tool in a guarded session: only exec asks first", () => {
  const rig = new ToolRig([new PostureRule(new ToolClassifier())]);
  const send = toolCall("sessions_send", { message: "x" }, { permissionMode: "guarded" });
  const [f] = rig.judge(send, governance("none", "defense"));
  assertEquals((f!.data as { confirmation: string }).confirmation, "unconfirmed");
});

Deno.test("a posture finding names the posture, the class and why", () => {
  const rig = new ToolRig([new PostureRule(new ToolClassifier())]);
  const [f] = rig.judge(toolCall("write", { path: "a.md" }), governance("none", "scout"));
  assertEquals(f!.rule, "posture");
  assertEquals(f!.action, "posture_violation");
  assertEquals(
    f!.detail,
    "Posture violation in conversation agent:main:main: main ran write, class write (changes " +
      "state), which posture scout (read-only) forbids",
  );
  const [d] = rig.judge(toolCall("exec", { command: "kill 1" }), governance("none", "defense"));
  assertEquals(
    (d!.data as { rule: string }).rule,
    "posture defense (no unconfirmed outbound or destructive call)",
  );
});

Deno.test("the posture rule counts the calls it allowed", () => {
  const rig = new ToolRig([new PostureRule(new ToolClassifier())]);
  rig.judge(toolCall("read", { path: "a" }), governance("none", "scout"));
  rig.judge(toolCall("write", { path: "a" }), governance("none", "scout"));
  rig.judge(toolCall("write", { path: "a" }), governance("none", "offense"));
  assertEquals(rig.engine.status().posture, { evaluated: 3, findings: 1, stats: { allowed: 2 } });
});
