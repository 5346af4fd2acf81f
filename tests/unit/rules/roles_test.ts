import { assertEquals } from "../../support/assert.ts";
import { RoleMap } from "../../../lib/rules/roles.ts";

const SEQ = ["primary", "secondary", "observer"];

Deno.test("an agent whose id is a role name has that role, whatever its case and spacing", () => {
  const m = new RoleMap({}, SEQ);
  assertEquals(m.resolve(" Primary "), "primary");
  assertEquals(m.resolve("OBSERVER"), "observer");
});

Deno.test("configured agents map to their roles and take precedence over their names", () => {
  const m = new RoleMap({ Alice: "Primary", observer: "secondary" }, SEQ);
  assertEquals(m.resolve("alice"), "primary");
  assertEquals(m.resolve("observer"), "secondary");
});

Deno.test("other agents take no part", () => {
  const m = new RoleMap({ bob: "narrator" }, SEQ);
  assertEquals(m.resolve("carol"), undefined);
  assertEquals(m.resolve("bob"), undefined);
});
