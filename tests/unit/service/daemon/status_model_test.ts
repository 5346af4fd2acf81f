import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { StatusModel } from "../../../../lib/service/daemon/status_model.ts";
import { LedgerWriter } from "../../../../lib/ledger/writer.ts";
import { newIntakeCounters } from "../../../../lib/gateway/intake.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../../../../lib/rules/governance.ts";
import { LEGACY_QUIET_MS } from "../../../../lib/service/status.ts";
import { enforceNeeds, ScopeNegotiation } from "../../../../lib/service/enforce/mod.ts";

function model(
  governance: Governance = DEFAULT_GOVERNANCE,
  scopes?: ScopeNegotiation,
) {
  const clock = new FakeClock();
  const writer = new LedgerWriter({
    ledgerPath: "/nonexistent/ledger.jsonl",
    maxPending: 10,
    governance: () => governance.fields,
    clock,
  });
  const status = new StatusModel({
    gateway: "ws://127.0.0.1:18789",
    protocol: "auto",
    ledgerPath: "ledger.jsonl",
    writer,
    intake: newIntakeCounters,
    rules: new RuleEngine([], { governance: () => governance, onFinding: () => {} }),
    governance: () => ({ governance }),
    sandbox: () => ({ denials: 0 }),
    ...(scopes ? { acting: () => ({ level: "prevent", scopes: scopes.report() }) } : {}),
    clock,
  });
  return { clock, status };
}

Deno.test("the link's state and reason, and STOPPED in the final report", () => {
  const { status } = model();
  assertEquals(status.report().state, "DISCONNECTED");
  assertEquals(status.report().reasons, ["not connected yet"]);
  status.linkUp({ protocol: "legacy" });
  assertEquals(status.report().state, "CONNECTED");
  assertEquals(status.linkDown("connection closed", 1500), true);
  assertEquals(status.report().reasons, ["connection closed; retrying in 1.5 s"]);
  assertEquals(status.report().gateway.disconnects, 1);
  assertEquals(status.report({ final: true }).state, "STOPPED");
});

Deno.test("a legacy gateway quiet for ten minutes is said in the reasons, on the injected clock", async () => {
  const { clock, status } = model();
  status.linkUp({ protocol: "legacy" });
  await clock.tick(LEGACY_QUIET_MS - 1);
  assertEquals(status.report().reasons, []);
  await clock.tick(1);
  assertStringIncludes(status.report().reasons[0]!, "no frame from the gateway for 10 min");
  status.legacyFrame();
  assertEquals(status.report().reasons, []);
});

Deno.test("broadcast switches the sequence enforcement off in status, with the reason", () => {
  const { status } = model({ ...DEFAULT_GOVERNANCE, broadcast: true, reason: "broadcast mode" });
  const r = status.report();
  assertEquals(r.enforcement, { enabled: false, reason: "broadcast mode", level: "off" });
  assertEquals(r.reasons.includes("broadcast mode"), true);
});

Deno.test("an OpenClaw link still catching up says so", () => {
  const { status } = model();
  status.linkUp({ protocol: "openclaw", protocolVersion: 4 });
  assertEquals(status.report().reasons, ["catching up on missed messages"]);
  status.caughtUp();
  assertEquals(status.report().reasons, []);
});

Deno.test("changesAt: nothing is due while nothing can change by time alone; a legacy link's quiet is", async () => {
  const { clock, status } = model();
  assertEquals(status.changesAt(clock.now()), undefined);
  status.linkUp({ protocol: "openclaw", protocolVersion: 4 });
  status.caughtUp();
  assertEquals(status.changesAt(clock.now()), undefined);
  status.linkDown("closed", 500);
  status.linkUp({ protocol: "legacy" });
  const quietAt = clock.now() + LEGACY_QUIET_MS;
  assertEquals(status.changesAt(clock.now()), quietAt);
  await clock.tick(LEGACY_QUIET_MS);
  // Quiet now: the minutes in the reason move, once a minute.
  assertEquals(status.changesAt(clock.now()), clock.now() + 60_000);
  status.linkDown("closed", 500);
  assertEquals(status.changesAt(clock.now()), undefined);
});

Deno.test("enforcement the gateway did not grant degrades a connected coordinator, and says why", () => {
  const scopes = new ScopeNegotiation(enforceNeeds("prevent"));
  scopes.nextScopes();
  const { status } = model(DEFAULT_GOVERNANCE, scopes);
  status.linkUp({ protocol: "openclaw" });
  status.caughtUp();
  scopes.granted(["operator.read", "operator.write"]);
  assertEquals(status.report().state, "CONNECTED");
  assertEquals(status.report().enforcement.inForce, ["enforce prevent"]);
  scopes.granted(["operator.read"]);
  const r = status.report();
  assertEquals(r.state, "DEGRADED");
  assertStringIncludes(r.reasons.join(), "enforce prevent is not in force");
  assertEquals(r.gateway.scopes, {
    asked: ["operator.read", "operator.write"],
    held: ["operator.read"],
  });
  // Not connected: the link's reason says it all; no second reason for the same cause.
  status.linkDown("gone", 1000);
  scopes.granted(undefined);
  assertEquals(status.report().reasons.length, 1);
});
