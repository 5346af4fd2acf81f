import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { LEGACY_QUIET_MS, legacyQuietReason } from "../../../lib/service/status.ts";

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
