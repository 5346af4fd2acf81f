import { assertEquals, assertThrows } from "../../../support/assert.ts";
import {
  toolPolicyEvent,
  toolPolicyOf,
} from "../../../../lib/gateway/openclaw/tool_policy_read.ts";

Deno.test("the policy in force: runtimeConfig first, agents.entries by lower-cased id", () => {
  const p = toolPolicyOf({
    config: { tools: { deny: ["not this one"] } },
    runtimeConfig: {
      tools: { profile: " coding ", allow: ["read", 3], deny: ["exec"], exec: { mode: "x" } },
      agents: {
        defaults: { tools: { deny: ["*"] } },
        entries: { Primary: { tools: { alsoAllow: ["message"] } }, plain: {}, odd: 7 },
      },
    },
  });
  assertEquals(p, {
    global: { profile: "coding", allow: ["read"], deny: ["exec"] },
    agents: { primary: { alsoAllow: ["message"] }, plain: {}, odd: {} },
  });
});

Deno.test("the older agents.list; without a roster, agents.defaults.tools (for main)", () => {
  assertEquals(
    toolPolicyOf({
      config: { agents: { list: [{ id: "A", tools: { deny: ["write"] } }, { id: "a" }, {}] } },
    }),
    { global: {}, agents: { a: { deny: ["write"] } } },
  );
  assertEquals(
    toolPolicyOf({ config: { agents: { defaults: { tools: { deny: ["*"] } } } } }),
    { global: {}, agents: {}, defaults: { deny: ["*"] } },
  );
});

Deno.test("an answer without config, or with a list that is not one, is an error", () => {
  assertThrows(() => toolPolicyOf({ raw: "{}" }), Error, "has no config");
  assertThrows(
    () => toolPolicyOf({ config: { tools: { deny: "write" } } }),
    Error,
    "tools.deny is not a list",
  );
});

Deno.test("the same policy, keys in any order, has the same hash", () => {
  const a = toolPolicyEvent({ global: { deny: ["x"], profile: "full" }, agents: {} }, {
    at: 1,
    source: "live",
  });
  const b = toolPolicyEvent({ agents: {}, global: { profile: "full", deny: ["x"] } }, {
    at: 2,
    source: "catch-up",
  });
  assertEquals(a.hash, b.hash);
});
