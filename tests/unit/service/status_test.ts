import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import {
  formatStatus,
  LEGACY_QUIET_MS,
  legacyQuietReason,
  type StatusReport,
} from "../../../lib/service/status.ts";
import { newWatchCounters } from "../../../lib/gateway/openclaw/watch.ts";
import { newIntakeCounters } from "../../../lib/gateway/intake.ts";

Deno.test("a legacy gateway quiet for ten minutes or more gets a status reason saying how long", () => {
  const t0 = 1_795_000_000_000;
  assertEquals(legacyQuietReason(t0, t0), undefined);
  assertEquals(legacyQuietReason(t0, t0 + LEGACY_QUIET_MS - 1), undefined);
  const at = legacyQuietReason(t0, t0 + LEGACY_QUIET_MS);
  assert(at !== undefined);
  assertStringIncludes(at, "no frame from the gateway for 10 min");
  assertStringIncludes(legacyQuietReason(t0, t0 + 3 * 3_600_000)!, "for 180 min");
  assertStringIncludes(at, "no heartbeat");
});

Deno.test("the status text shows the governance in force, tool calls judged, event gaps and answers scored for drift", () => {
  const report: StatusReport = {
    version: "0.1.0",
    pid: 1,
    startedAt: "2026-12-01T00:00:00.000Z",
    updatedAt: "2026-12-01T00:00:01.000Z",
    state: "CONNECTED",
    reasons: [],
    gateway: { url: "ws://127.0.0.1:18789", protocol: "openclaw", connects: 1, disconnects: 0 },
    openclaw: {
      ...newWatchCounters(),
      toolCalls: 7,
      eventGaps: 2,
      eventsMissed: 5,
      sessionsTracked: 3,
    },
    enforcement: { enabled: true },
    governance: { mode: "high-security", posture: "scout", role: "primary" },
    counters: {
      frames: 0,
      observations: 0,
      violations: 0,
      unknownAgents: 0,
      notEnforced: 0,
      skipped: newIntakeCounters().skipped,
    },
    conversations: { tracked: 0, evictedIdle: 0, evictedOverCap: 0 },
    ledger: { path: "l", written: 0, pending: 0, dropped: 0 },
  };
  report.rules = {
    drift: {
      evaluated: 9,
      findings: 1,
      stats: {
        scored: 6,
        green: 3,
        yellow: 1,
        orange: 1,
        red: 1,
        baselines: 2,
        withoutText: 1,
        short: 4,
        conversations: 2,
        evicted: 0,
      },
    },
  };
  const text = formatStatus(report, {});
  assertStringIncludes(
    text,
    "Rule drift:     9 events judged, 1 finding (answers scored 6: green 3, yellow 1, orange 1, " +
      "red 1; baselines 2, without text 1, short 4; conversations 2)",
  );
  assertStringIncludes(text, "Governance:     mode high-security, posture scout, role primary");
  assertStringIncludes(text, "Tool calls:     7 judged; event gaps 2 (5 events dropped");
  assertStringIncludes(text, "Enforcement:    off (record only)\n");
  report.enforcement = {
    enabled: true,
    level: "prevent",
    inForce: ["enforce prevent"],
    readOnlySessions: 2,
  };
  assertStringIncludes(
    formatStatus(report, {}),
    "Enforcement:    prevent (in force: enforce prevent); 2 sessions made read-only",
  );
  report.enforcement = { enabled: true, level: "off", inForce: [], readOnlySessions: 1 };
  assertStringIncludes(
    formatStatus(report, {}),
    "Enforcement:    off (record only); 1 session made read-only by an earlier run, being given back",
  );
  assert(!text.includes("Notices:"), "no notices line while notify is off");
  report.notify = {
    channel: "question",
    intervalSeconds: 300,
    sent: 2,
    suppressed: 5,
    failed: 1,
    failures: { "not connected to the gateway": 1 },
  };
  assertStringIncludes(
    formatStatus(report, {}),
    "Notices:        question, one per conversation per 300 s: 2 sent, 5 within the interval, " +
      "1 failed (not connected to the gateway 1)",
  );
});

Deno.test("the status text shows findings by kind and the gateway's tool policy against governance", () => {
  const report: StatusReport = {
    version: "0.1.0",
    pid: 1,
    startedAt: "2026-12-01T00:00:00.000Z",
    updatedAt: "2026-12-01T00:00:01.000Z",
    state: "CONNECTED",
    reasons: [],
    gateway: { url: "ws://127.0.0.1:18789", protocol: "openclaw", connects: 1, disconnects: 0 },
    enforcement: { enabled: true },
    counters: {
      frames: 0,
      observations: 0,
      violations: 1,
      unknownAgents: 0,
      notEnforced: 0,
      skipped: newIntakeCounters().skipped,
      byKind: { audit_missing: 0, governance_drift: 1, posture_drift: 0 },
    },
    conversations: { tracked: 0, evictedIdle: 0, evictedOverCap: 0 },
    ledger: { path: "l", written: 0, pending: 0, dropped: 0 },
    toolPolicy: {
      state: "read",
      at: "2026-12-01T00:00:01.000Z",
      hash: "0123456789abcdef",
      mismatches: [{ agent: "main", because: "posture scout", allowed: ["write", "exec"] }],
    },
  };
  const text = formatStatus(report, {});
  assertStringIncludes(
    text,
    "By kind:        audit_missing 0, governance_drift 1, posture_drift 0",
  );
  assertStringIncludes(
    text,
    "Tool policy:    read 2026-12-01T00:00:01.000Z (sha256 0123456789abcdef…); 1 mismatch with " +
      "governance: main (posture scout) may use write, exec",
  );
  report.toolPolicy = {
    state: "failed",
    at: "2026-12-01T00:00:02.000Z",
    error: "Cannot read the gateway's tool policy: missing scope: operator.read",
    mismatches: [],
  };
  assertStringIncludes(
    formatStatus(report, {}),
    "Tool policy:    Cannot read the gateway's tool policy: missing scope: operator.read " +
      "(at 2026-12-01T00:00:02.000Z); no mismatch with governance",
  );
});
