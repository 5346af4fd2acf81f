/**
 * `--since` and `--until`: ISO dates and times (UTC unless they name an offset), relative
 * ages (`30s`, `15m`, `1h`, `2d`, `1w` ago) and `now`, `today`, `yesterday` (UTC midnight).
 * @module
 */

import { UsageError } from "./usage.ts";

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** The forms accepted, for error messages and the help. */
export const TIME_FORMS: string =
  "an ISO date or time (2026-11-21, 2026-11-21T12:00, 2026-11-21T12:00:00+02:00; UTC unless " +
  "an offset is given), an age (30s, 15m, 1h, 2d, 1w), now, today or yesterday";

/** Thrown for a time that is none of the accepted forms. */
export class TimeSpecError extends UsageError {}

function utcMidnight(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** Reads a time given on the command line as epoch milliseconds, relative to `now`. */
export function parseTimeSpec(spec: string, now: number): number {
  const s = spec.trim().toLowerCase();
  if (s === "now") return now;
  if (s === "today") return utcMidnight(now);
  if (s === "yesterday") return utcMidnight(now) - UNIT_MS.d!;
  const age = /^(\d+)([smhdw])$/.exec(s);
  if (age) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  const iso =
    /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?)?$/
      .exec(s);
  if (iso) {
    const [, y, mo, d, h = "00", mi = "00", sec = "00", frac = "", zone] = iso;
    const ms = frac ? `.${frac.slice(1, 4).padEnd(3, "0")}` : "";
    const offset = zone === undefined || zone === "z"
      ? "Z"
      : zone.includes(":")
      ? zone
      : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const t = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${ms}${offset.toUpperCase()}`);
    if (!Number.isNaN(t) && Number(mo) >= 1 && Number(mo) <= 12 && Number(d) <= 31) {
      // Date.parse rolls 2026-02-31 over to March: refuse what does not come back the same.
      const back = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
      if (back.getUTCDate() === Number(d)) return t;
    }
  }
  throw new TimeSpecError(`Invalid time ${JSON.stringify(spec)}: use ${TIME_FORMS}`);
}

/** An entry's timestamp as epoch milliseconds; NaN when it has none that reads. */
export function entryTime(timestamp: unknown): number {
  if (typeof timestamp !== "string") return NaN;
  // Python's isoformat writes 6 fraction digits; Date.parse takes 3.
  const m = /^(.{19})(\.\d+)?(.*)$/.exec(timestamp);
  if (!m) return NaN;
  const frac = m[2] ? m[2].slice(0, 4) : "";
  return Date.parse(`${m[1]}${frac}${m[3] || "Z"}`);
}
