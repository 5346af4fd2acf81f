import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import {
  enforceNeeds,
  ScopeNegotiation,
  scopesAsked,
} from "../../../../lib/service/enforce/mod.ts";

Deno.test("each level asks for the scopes of what it does, reading first", () => {
  assertEquals(new ScopeNegotiation(enforceNeeds("off")).wanted, ["operator.read"]);
  assertEquals(new ScopeNegotiation(enforceNeeds("prevent")).wanted, [
    "operator.read",
    "operator.write",
  ]);
  assertEquals(new ScopeNegotiation(enforceNeeds("abort")).wanted, [
    "operator.read",
    "operator.write",
    "operator.admin",
  ]);
  const notify = { channel: "question" as const, intervalSeconds: 300 };
  assertEquals(scopesAsked({ enforce: "abort", notify }), [
    { scope: "operator.read", for: ["watching (always)"] },
    { scope: "operator.write", for: ["enforce prevent"] },
    { scope: "operator.admin", for: ["enforce abort"] },
    { scope: "operator.questions", for: ["notify question"] },
  ]);
  assertEquals(scopesAsked({ enforce: "prevent", notify: { ...notify, channel: "node" } }), [
    { scope: "operator.read", for: ["watching (always)"] },
    { scope: "operator.write", for: ["enforce prevent", "notify node"] },
  ]);
});

Deno.test("a feature is in force only while its scopes are held; admin stands in for any", () => {
  const n = new ScopeNegotiation(enforceNeeds("abort"));
  n.nextScopes();
  assertEquals(n.report().inForce, []);
  assertEquals(n.report().off.map((o) => o.why), ["not connected", "not connected"]);
  n.granted(["operator.read", "operator.write"]);
  assertEquals(n.inForce("enforce prevent"), true);
  assertEquals(n.inForce("enforce abort"), false);
  assertStringIncludes(n.report().off[0]!.why, "did not grant operator.admin");
  n.granted(["operator.read", "operator.admin"]);
  assertEquals(n.report().inForce, ["enforce prevent", "enforce abort"]);
  n.granted(undefined);
  assertEquals(n.report().held, []);
  assertEquals(n.report().inForce, []);
});

Deno.test("a connect refused while asking for more than reading is tried once more, reading only", () => {
  const n = new ScopeNegotiation(enforceNeeds("prevent"));
  assertEquals(n.nextScopes(), ["operator.read", "operator.write"]);
  assertEquals(n.refused("pairing required (NOT_PAIRED)"), true);
  assertEquals(n.nextScopes(), ["operator.read"]);
  // Refused again while asking for reading only: the refusal stands.
  assertEquals(n.refused("pairing required (NOT_PAIRED)"), false);
  n.granted(["operator.read"]);
  const off = n.report().off;
  assertEquals(off.length, 1);
  assertStringIncludes(off[0]!.why, "refused the connection asking for operator.write");
  assertStringIncludes(off[0]!.why, "restart the coordinator");
});

Deno.test("reading only: a refusal is never retried", () => {
  const n = new ScopeNegotiation([]);
  assertEquals(n.nextScopes(), ["operator.read"]);
  assertEquals(n.refused("no"), false);
});

Deno.test("a need added later is asked for at the next connect, and no longer once dropped", () => {
  const n = new ScopeNegotiation([]);
  n.need({ feature: "enforce release", scopes: ["operator.write"] });
  assertEquals(n.nextScopes(), ["operator.read", "operator.write"]);
  n.drop("enforce release");
  assertEquals(n.nextScopes(), ["operator.read"]);
  assertEquals(n.report().off, []);
});
