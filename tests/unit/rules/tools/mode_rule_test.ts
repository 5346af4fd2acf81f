import { assertEquals } from "../../../support/assert.ts";
import { ModeRule, type ToolClass, ToolClassifier } from "../../../../lib/rules/tools/mod.ts";
import { governance, ONE_OF_EACH, toolCall, ToolRig } from "../../../support/tool_calls.ts";

const CLASSES = Object.keys(ONE_OF_EACH) as ToolClass[];

function flagged(mode: unknown, more = {}): ToolClass[] {
  const rig = new ToolRig([new ModeRule(new ToolClassifier())]);
  return CLASSES.filter((c) => {
    const [tool, args] = ONE_OF_EACH[c];
    return rig.judge(toolCall(tool, args, more), governance(mode, "offense")).length > 0;
  });
}

Deno.test("mode high-security flags unconfirmed destructive, outbound and external calls, not read or write", () => {
  assertEquals(flagged("high-security"), ["outbound", "destructive", "external"]);
});

Deno.test("no other mode flags anything: high-integrity, none, unknown or not a string", () => {
  assertEquals(flagged("high-integrity"), []);
  assertEquals(flagged("none"), []);
  assertEquals(flagged("creative"), []);
  assertEquals(flagged(null), []);
});

Deno.test("the mode is matched trimmed and in any case", () => {
  assertEquals(flagged(" High-Security\t"), ["outbound", "destructive", "external"]);
});

Deno.test("mode high-security does not flag an exec that ran in a guarded session, but flags other tools there", () => {
  const guarded = { permissionMode: "guarded" };
  const rig = new ToolRig([new ModeRule(new ToolClassifier())]);
  const hs = governance("high-security", "offense");
  assertEquals(rig.judge(toolCall("exec", { command: "curl https://x" }, guarded), hs), []);
  assertEquals(rig.judge(toolCall("web_fetch", { url: "https://x" }, guarded), hs).length, 1);
  // A guarded exec the gateway blocked was not approved: it stays unconfirmed.
  const blocked = toolCall("exec", { command: "rm x" }, { ...guarded, status: "blocked" });
  assertEquals(rig.judge(blocked, hs).length, 1);
});

Deno.test("a mode finding is a mode_violation naming high-security", () => {
  const rig = new ToolRig([new ModeRule(new ToolClassifier())]);
  const [f] = rig.judge(
    toolCall("web_fetch", { url: "https://example.com/a" }),
    governance("high-security", "offense"),
  );
  assertEquals([f!.rule, f!.action], ["mode", "mode_violation"]);
  assertEquals(
    f!.detail,
    "Mode violation in conversation agent:main:main: main ran web_fetch, class external " +
      "(reaches outside the machine), which mode high-security (confirmation first) forbids",
  );
  assertEquals(rig.engine.status().mode!.stats, { checked: 1 });
});
