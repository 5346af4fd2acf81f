import { assertEquals, assertThrows } from "../../support/assert.ts";
import { entryTime, parseTimeSpec, TimeSpecError } from "../../../lib/cli/time_spec.ts";
import { UsageError } from "../../../lib/cli/usage.ts";

const NOW = Date.UTC(2026, 10, 21, 12, 30, 0); // 2026-11-21T12:30:00Z

Deno.test("ISO dates and times are UTC unless they name an offset", () => {
  assertEquals(parseTimeSpec("2026-11-21", NOW), Date.UTC(2026, 10, 21));
  assertEquals(parseTimeSpec("2026-11-21T08:15", NOW), Date.UTC(2026, 10, 21, 8, 15));
  assertEquals(parseTimeSpec("2026-11-21 08:15:30", NOW), Date.UTC(2026, 10, 21, 8, 15, 30));
  assertEquals(
    parseTimeSpec("2026-11-21T08:15:30.5Z", NOW),
    Date.UTC(2026, 10, 21, 8, 15, 30, 500),
  );
  assertEquals(parseTimeSpec("2026-11-21T08:15:00+02:00", NOW), Date.UTC(2026, 10, 21, 6, 15));
  assertEquals(parseTimeSpec("2026-11-21T08:15:00-0130", NOW), Date.UTC(2026, 10, 21, 9, 45));
});

Deno.test("relative forms: ages, now, today and yesterday (UTC midnight)", () => {
  assertEquals(parseTimeSpec("30s", NOW), NOW - 30_000);
  assertEquals(parseTimeSpec("15m", NOW), NOW - 15 * 60_000);
  assertEquals(parseTimeSpec("1h", NOW), NOW - 3_600_000);
  assertEquals(parseTimeSpec("2d", NOW), NOW - 2 * 86_400_000);
  assertEquals(parseTimeSpec("1w", NOW), NOW - 7 * 86_400_000);
  assertEquals(parseTimeSpec("now", NOW), NOW);
  assertEquals(parseTimeSpec("Today", NOW), Date.UTC(2026, 10, 21));
  assertEquals(parseTimeSpec("yesterday", NOW), Date.UTC(2026, 10, 20));
});

Deno.test("anything else is a usage error that names the forms accepted", () => {
  for (
    const bad of ["", "1x", "h1", "2026-13-01", "2026-02-30", "2026-11-21T25:00", "tomorrow", "-1h"]
  ) {
    const err = assertThrows(() => parseTimeSpec(bad, NOW), TimeSpecError);
    assertEquals(err instanceof UsageError, true);
    assertEquals((err as Error).message.includes("an age (30s, 15m, 1h, 2d, 1w)"), true, bad);
  }
});

Deno.test("an entry's Python isoformat timestamp (6 fraction digits) is read to the millisecond", () => {
  assertEquals(
    entryTime("2026-11-21T12:02:18.246730+00:00"),
    Date.UTC(2026, 10, 21, 12, 2, 18, 246),
  );
  assertEquals(entryTime("2026-11-21T12:02:18+00:00"), Date.UTC(2026, 10, 21, 12, 2, 18));
  assertEquals(Number.isNaN(entryTime("yesterday")), true);
  assertEquals(Number.isNaN(entryTime(undefined)), true);
});
