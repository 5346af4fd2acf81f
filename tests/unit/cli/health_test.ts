/**
 * The health figures, hand-computed from the definition in
 * shared/reference/moses-governance.md (govern_loop.py resilience): fault rate = faults ÷
 * entries; clustering = faults right after a fault ÷ faults; DEGRADED over 30 %, or more
 * than half the faults clustered with at least 2; CAUTION over 10 %; else HEALTHY.
 */
import { assertEquals } from "../../support/assert.ts";
import { HealthCounter, isFault, verdictOf } from "../../../lib/cli/health.ts";

/** Feeds outcomes as a ledger of entries ("F" = FAIL, "." = logged). */
function healthOf(pattern: string, postures?: string[]) {
  const h = new HealthCounter();
  [...pattern].forEach((c, i) =>
    h.add(i + 1, {
      timestamp: `t${i}`,
      agent: "a",
      action: "x",
      outcome: c === "F" ? "FAIL" : "logged",
      posture: postures?.[i] ?? "defense",
    })
  );
  return h.result();
}

Deno.test("no entries: rate 0, clustering 0, HEALTHY", () => {
  const r = healthOf("");
  assertEquals([r.faultRate, r.clustering, r.verdict], [0, 0, "HEALTHY"]);
});

Deno.test("fault rate boundary at 10 %: exactly 10 % is HEALTHY, above is CAUTION", () => {
  const ten = healthOf("F.........");
  assertEquals([ten.faults, ten.entries, ten.faultRate, ten.verdict], [1, 10, 0.1, "HEALTHY"]);
  const nine = healthOf("F........");
  assertEquals([nine.faultRate, nine.verdict], [1 / 9, "CAUTION"]);
});

Deno.test("fault rate boundary at 30 %: exactly 30 % is CAUTION, above is DEGRADED", () => {
  const thirty = healthOf("F..F..F...");
  assertEquals([thirty.faultRate, thirty.clusteredFaults, thirty.verdict], [0.3, 0, "CAUTION"]);
  const forty = healthOf("F.F.F.F...");
  assertEquals([forty.faultRate, forty.verdict], [0.4, "DEGRADED"]);
});

Deno.test("three faults in a row: 2 of 3 clustered, DEGRADED at a 15 % rate", () => {
  const r = healthOf("FFF" + ".".repeat(17));
  assertEquals([r.faults, r.clusteredFaults, r.clustering, r.faultRate], [3, 2, 2 / 3, 0.15]);
  assertEquals(r.verdict, "DEGRADED");
});

Deno.test("clustering needs at least 2 clustered faults: 1 of 2 is not DEGRADED", () => {
  const r = healthOf("FF" + ".".repeat(18));
  assertEquals([r.clusteredFaults, r.clustering, r.faultRate, r.verdict], [1, 0.5, 0.1, "HEALTHY"]);
});

Deno.test("clustering must be more than half: 2 of 4 is not DEGRADED, 3 of 5 is", () => {
  const half = healthOf("FF....FF" + ".".repeat(32));
  assertEquals([half.faults, half.clusteredFaults, half.faultRate], [4, 2, 0.1]);
  assertEquals(half.verdict, "HEALTHY");
  const more = healthOf("FF...FFF" + ".".repeat(42));
  assertEquals([more.faults, more.clusteredFaults, more.faultRate], [5, 3, 0.1]);
  assertEquals(more.verdict, "DEGRADED");
});

Deno.test("verdictOf agrees with the counter at the boundaries", () => {
  assertEquals(verdictOf(3, 10, 0), "CAUTION");
  assertEquals(verdictOf(31, 100, 0), "DEGRADED");
  assertEquals(verdictOf(11, 100, 0), "CAUTION");
  assertEquals(verdictOf(2, 100, 2), "DEGRADED");
  assertEquals(verdictOf(4, 100, 2), "HEALTHY");
});

Deno.test("fault outcomes: FAIL, BLOCKED, BLOCK, DECLINED, DECLINE, ERROR, in any case, whole", () => {
  for (const o of ["FAIL", "BLOCKED", "BLOCK", "DECLINED", "DECLINE", "ERROR", "fail", "Error"]) {
    assertEquals(isFault(o), true, o);
  }
  for (const o of ["PASS", "logged", "AUTO-APPROVED", "FAILED", "recovered", "", undefined, 1]) {
    assertEquals(isFault(o), false, String(o));
  }
});

Deno.test("posture changes count consecutive entries whose posture differs; the last five faults are kept", () => {
  const r = healthOf("F.F.F.F.F.F.", [
    "defense",
    "defense",
    "scout",
    "scout",
    "defense",
    "offense",
    "offense",
    "offense",
    "offense",
    "offense",
    "offense",
    "offense",
  ]);
  assertEquals(r.postureChanges, 3);
  assertEquals(r.lastPostureChanges.map((p) => [p.line, p.from, p.to]), [
    [3, "defense", "scout"],
    [5, "scout", "defense"],
    [6, "defense", "offense"],
  ]);
  assertEquals(r.lastFaults.map((f) => f.line), [3, 5, 7, 9, 11]);
});
