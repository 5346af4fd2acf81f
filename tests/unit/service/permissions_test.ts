/** The `permissions` audit as text: headings that match the lines under them. */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  auditPermissions,
  declaredSet,
  formatAudit,
  type QueryPermission,
} from "../../../lib/service/permissions.ts";

/** The section of `text` under `heading`, up to the next blank line; undefined without one. */
function section(text: string, heading: string): string[] | undefined {
  const lines = text.split("\n");
  const at = lines.indexOf(heading);
  if (at < 0) return undefined;
  const end = lines.indexOf("", at);
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

/** Every section's heading and the state its lines end with ("granted" or "denied"). */
function headingsAndStates(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const heading of text.split("\n").filter((l) => /^[A-Z][^:]*:$/.test(l))) {
    const states = new Set<string>();
    for (const line of section(text, heading) ?? []) {
      const m = /\s(granted|denied)(?:\s|$)/.exec(line);
      if (m) states.add(m[1]!);
    }
    out.set(heading, states);
  }
  return out;
}

const cwd = "/home/alice/.openclaw";
const everything: QueryPermission = () => "granted";
const onlyTheSet: QueryPermission = (desc) =>
  "path" in desc || "host" in desc || "variable" in desc ? "granted" : "denied";
const runToo: QueryPermission = (desc) => desc.name === "run" ? "granted" : onlyTheSet(desc);

Deno.test("permissions puts kinds granted beyond the set under their own heading", () => {
  for (const [name, query] of [["-A", everything], ["the set and run", runToo]] as const) {
    const text = formatAudit(auditPermissions(declaredSet(), cwd, query));
    const sections = headingsAndStates(text);
    for (const [heading, states] of sections) {
      if (/not granted/i.test(heading)) {
        assert(!states.has("granted"), `${name}: "${heading}" stands over granted lines:\n${text}`);
      }
    }
    const beyond = section(text, "Granted beyond the set:");
    assert(beyond !== undefined, `${name}: no "Granted beyond the set:" heading:\n${text}`);
    assert(beyond.every((l) => /\sgranted/.test(l)), text);
  }
  assertEquals(
    section(formatAudit(auditPermissions(declaredSet(), cwd, runToo)), "Granted beyond the set:"),
    ["  run (any)              granted"],
  );
});

Deno.test("permissions under exactly the set lists every other kind as not granted", () => {
  const text = formatAudit(auditPermissions(declaredSet(), cwd, onlyTheSet));
  assertEquals(section(text, "Not granted:"), [
    "  read (anything else)   denied",
    "  write (anything else)  denied",
    "  net (anything else)    denied",
    "  env (anything else)    denied",
    "  run (any)              denied",
    "  sys (any)              denied",
    "  ffi (any)              denied",
    "  import (any)           denied",
  ]);
  assertEquals(section(text, "Granted beyond the set:"), undefined);
});
