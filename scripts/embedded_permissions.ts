/**
 * Reads the permission set `deno compile` built into a binary (its metadata is JSON inside
 * the file) and compares it with the declared set: what an auditor can check on a
 * downloaded binary without running it.
 *
 * Usage: deno run --allow-read scripts/embedded_permissions.ts BINARY...
 * Exit codes: 0 every binary carries exactly the declared set, 1 one does not, 2 usage.
 * @module
 */
import {
  declaredSet,
  DENIED_KINDS,
  GRANTED_KINDS,
  type PermissionSet,
} from "../lib/service/permissions.ts";

/** The permissions object of a compiled binary's metadata, or undefined if there is none. */
export function embeddedPermissions(binary: Uint8Array): Record<string, unknown> | undefined {
  // The object holds only flat lists and booleans: no nested braces.
  const text = new TextDecoder("latin1").decode(binary);
  const at = text.indexOf('"permissions":{"allow_env"');
  if (at < 0) return undefined;
  const start = text.indexOf("{", at);
  return JSON.parse(text.slice(start, text.indexOf("}", start) + 1));
}

/** How `embedded` differs from the declared `set`; empty when it is exactly the set. */
export function differences(embedded: Record<string, unknown>, set: PermissionSet): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const kind of GRANTED_KINDS) {
    if (!same(embedded[`allow_${kind}`], set[kind])) {
      out.push(
        `allow_${kind} is ${JSON.stringify(embedded[`allow_${kind}`])}, not ${
          JSON.stringify(set[kind])
        }`,
      );
    }
  }
  for (const kind of DENIED_KINDS) {
    // An empty deny list denies the whole kind.
    if (!same(embedded[`deny_${kind}`], [])) {
      out.push(`deny_${kind} is ${JSON.stringify(embedded[`deny_${kind}`])}, not [] (all denied)`);
    }
    if (kind !== "import" && embedded[`allow_${kind}`] !== null) {
      out.push(`allow_${kind} is ${JSON.stringify(embedded[`allow_${kind}`])}, not null`);
    }
  }
  if (embedded.prompt !== false) {
    out.push(`prompt is ${JSON.stringify(embedded.prompt)}, not false`);
  }
  return out;
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("Usage: deno run --allow-read scripts/embedded_permissions.ts BINARY...");
    Deno.exit(2);
  }
  let bad = 0;
  for (const path of Deno.args) {
    const perms = embeddedPermissions(await Deno.readFile(path));
    const diff = perms === undefined
      ? ["no permission metadata found"]
      : differences(perms, declaredSet());
    if (diff.length === 0) {
      console.log(`${path}: the declared set, exactly`);
    } else {
      bad++;
      for (const d of diff) console.log(`${path}: ${d}`);
    }
  }
  Deno.exit(bad === 0 ? 0 : 1);
}
