import { assertEquals } from "../../support/assert.ts";
import { buildRuleEngine } from "../../../lib/service/rule_set.ts";
import { parseConfig } from "../../../lib/service/config.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";

const opts = { governance: () => DEFAULT_GOVERNANCE, onFinding: () => {} };

Deno.test("every rule runs by default; the audit rule only where ledger entries are fed", () => {
  const config = parseConfig("{}", "c");
  assertEquals(buildRuleEngine(config, opts).rules.map((r) => r.id), [
    "sequence",
    "posture",
    "role",
    "mode",
    "drift",
    "governance",
    "governance_drift",
  ]);
  assertEquals(
    buildRuleEngine(config, { ...opts, ledgerEntries: true }).rules.map((r) => r.id),
    ["sequence", "posture", "role", "mode", "audit", "drift", "governance", "governance_drift"],
  );
});

Deno.test("rules in the config turns rules off", () => {
  const config = parseConfig(
    "{ rules: { sequence: false, audit: false, governance: false, drift: false, mode: true, " +
      "governance_drift: false } }",
    "c",
  );
  assertEquals(
    buildRuleEngine(config, { ...opts, ledgerEntries: true }).rules.map((r) => r.id),
    ["posture", "role", "mode"],
  );
});
