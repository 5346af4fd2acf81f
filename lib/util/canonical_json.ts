/**
 * Canonical JSON: object keys sorted at every level, no spaces, so equal values give equal
 * text (and equal hashes) whatever order their keys came in.
 * @module
 */

/** The canonical JSON text of `value` (`undefined` gives `null`). */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    return `[${value.map((v) => v === undefined ? "null" : canonicalJson(v)).join(",")}]`;
  }
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  }
  return `{${parts.join(",")}}`;
}
