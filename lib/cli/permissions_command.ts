/**
 * `permissions`: the declared permission set, what this process is granted, and the gateway
 * scopes the config asks for. Loaded by the dispatcher only when `permissions` runs.
 * @module
 */
import {
  auditPermissions,
  declaredSet,
  formatAudit,
  liveQuery,
  loadConfig,
  scopesAsked,
} from "../service/mod.ts";
import { errorText, EXIT_OK, type Paths } from "../util/mod.ts";
import type { Io } from "./io.ts";

/** Runs `permissions`: prints the audit (as JSON with `json`); always exits 0. */
export async function permissionsCommand(
  io: Io,
  opts: { paths: Paths; json: boolean },
): Promise<number> {
  const audit = auditPermissions(declaredSet(), Deno.cwd(), liveQuery);
  const scopes = await gatewayScopes(opts.paths);
  io.out(
    opts.json
      ? JSON.stringify({ ...audit, gatewayScopes: scopes }, null, 2)
      : `${formatAudit(audit)}\n\n${formatScopes(scopes)}`,
  );
  return EXIT_OK;
}

/** The gateway scopes the config asks for, or why the config cannot say. */
async function gatewayScopes(
  paths: Paths,
): Promise<{ scope: string; for: string[] }[] | { error: string }> {
  try {
    return scopesAsked((await loadConfig(paths.config)).config);
  } catch (err) {
    return { error: errorText(err) };
  }
}

function formatScopes(scopes: { scope: string; for: string[] }[] | { error: string }): string {
  if ("error" in scopes) return `Gateway scopes (OpenClaw): unknown: ${scopes.error}`;
  return [
    "Gateway scopes (OpenClaw) the coordinator asks for, as the config sets it:",
    ...scopes.map((s) => `  ${s.scope.padEnd(18)} ${s.for.join(", ")}`),
  ].join("\n");
}
