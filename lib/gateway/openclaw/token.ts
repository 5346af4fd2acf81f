/**
 * Where the gateway token comes from: `OPENCLAW_GATEWAY_TOKEN`, else `gateway.auth.token`
 * in the state directory's `openclaw.json` (JSON5). The token is a secret: it is returned,
 * never put in a message.
 * @module
 */
import JSON5 from "json5";
import { errorText, isPermissionError, readTextIfExists } from "../../util/mod.ts";

/** The environment variable the coordinator reads the token from. */
export const TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN";

/** Where the token came from (for logs and status; never the token itself). */
export type TokenSource = "env" | "openclaw.json" | "none";

/** A token, or none, with where it came from. */
export interface ResolvedToken {
  /** The token (a secret), or undefined when there is none. */
  token: string | undefined;
  /** Where it came from. */
  source: TokenSource;
  /** Said once at start when there is no token. */
  warning?: string;
}

/** The token cannot be used as configured; the message says what to do. */
export class TokenError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TokenError";
  }
}

/** Interprets `gateway.auth.token` from a parsed openclaw.json; pure. */
export function tokenFromConfig(config: unknown, source: string): ResolvedToken {
  const auth =
    ((config as Record<string, unknown> | null)?.gateway as Record<string, unknown> | undefined)
      ?.auth as Record<string, unknown> | undefined;
  const value = auth?.token;
  if (value === undefined || value === null || value === "") {
    return {
      token: undefined,
      source: "none",
      warning:
        `No gateway token: ${TOKEN_ENV} is not set and ${source} has no gateway.auth.token; ` +
        "connecting without one (set either if the gateway asks for a token)",
    };
  }
  if (typeof value === "string") {
    const ref = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(value.trim());
    if (ref) {
      throw new TokenError(
        `Cannot use gateway.auth.token in ${source}: it refers to the environment variable ${
          ref[1]
        }, ` +
          `which the coordinator does not read; set ${TOKEN_ENV} in the coordinator's environment instead`,
      );
    }
    return { token: value, source: "openclaw.json" };
  }
  if (typeof value === "object") {
    const src = (value as Record<string, unknown>).source;
    throw new TokenError(
      `Cannot use gateway.auth.token in ${source}: it is a secret reference` +
        `${
          typeof src === "string" ? ` (source "${src}")` : ""
        }, which the coordinator cannot resolve; ` +
        `set ${TOKEN_ENV} in the coordinator's environment to the token`,
    );
  }
  throw new TokenError(`Cannot use gateway.auth.token in ${source}: it must be a string`);
}

/** Finds the token: the environment first, then `openclaw.json` at `configPath`. */
export async function resolveToken(configPath: string): Promise<ResolvedToken> {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get(TOKEN_ENV);
  } catch (err) {
    if (!isPermissionError(err)) throw err;
    // Without the env grant the variable cannot be seen; openclaw.json may still have it.
  }
  if (fromEnv !== undefined && fromEnv !== "") return { token: fromEnv, source: "env" };
  let text: string | undefined;
  try {
    text = await readTextIfExists(configPath);
  } catch (err) {
    throw new TokenError(
      `Cannot read ${configPath} for the gateway token: ${errorText(err)}` +
        (isPermissionError(err)
          ? " (the permission set grants read access to openclaw.json in the state directory)"
          : ""),
      { cause: err },
    );
  }
  if (text === undefined) {
    return {
      token: undefined,
      source: "none",
      warning:
        `No gateway token: ${TOKEN_ENV} is not set and there is no ${configPath}; connecting without one`,
    };
  }
  let config: unknown;
  try {
    config = JSON5.parse(text);
  } catch (err) {
    const e = err as { lineNumber?: number; columnNumber?: number };
    // JSON5's message quotes one character at most; the position is what helps.
    throw new TokenError(
      `Cannot read ${configPath} for the gateway token: invalid JSON5` +
        (e.lineNumber !== undefined ? ` at line ${e.lineNumber} column ${e.columnNumber}` : ""),
    );
  }
  return tokenFromConfig(config, configPath);
}

/** Where a token came from, in words for a message (never the token itself). */
export function describeTokenSource(source: TokenSource): string {
  switch (source) {
    case "env":
      return TOKEN_ENV;
    case "openclaw.json":
      return "openclaw.json gateway.auth.token";
    case "none":
      return "no token";
  }
}

/** The gateway's codes for a shared token that is wrong, missing or not accepted. */
const TOKEN_REFUSALS = new Set([
  "AUTH_TOKEN_MISMATCH",
  "AUTH_TOKEN_MISSING",
  "AUTH_REQUIRED",
  "AUTH_UNAUTHORIZED",
  "AUTH_RATE_LIMITED",
]);

/** What to change, by where the refused token came from. */
function refusedTokenAdvice(resolved: Pick<ResolvedToken, "token" | "source">): string {
  switch (resolved.source) {
    case "env": {
      const spaced = resolved.token !== undefined && resolved.token.trim() !== resolved.token;
      return `the token from ${TOKEN_ENV} was rejected` +
        (spaced ? " (it has whitespace at its start or end: a newline from a file?)" : "") +
        `: unset ${TOKEN_ENV} (gateway.auth.token in openclaw.json is then used) or set it to ` +
        "the gateway's token, then restart the coordinator";
    }
    case "openclaw.json": {
      const spaced = resolved.token !== undefined && resolved.token.trim() !== resolved.token;
      return "the token from openclaw.json gateway.auth.token was rejected" +
        (spaced ? " (it has whitespace at its start or end)" : "") +
        ": set gateway.auth.token in openclaw.json to the gateway's token (or set " +
        `${TOKEN_ENV}, which comes first), then restart the coordinator`;
    }
    case "none":
      return `no token was sent: ${TOKEN_ENV} is not set and openclaw.json has no ` +
        `gateway.auth.token; set either to the gateway's token, then restart the coordinator`;
  }
}

/**
 * A gateway refusal's message, saying where the token came from when the refusal is about
 * the token (`refusal.code`, as the protocol's classifyConnectError gives it); any other refusal's
 * message unchanged. The token itself is never put in.
 */
export function withTokenSource(
  refusal: { message: string; code?: unknown },
  resolved: Pick<ResolvedToken, "token" | "source">,
): string {
  const code = refusal.code;
  if (typeof code !== "string" || !TOKEN_REFUSALS.has(code)) return refusal.message;
  const advice = refusedTokenAdvice(resolved);
  // The refusal reads "… (CODE): generic advice"; the advice by source replaces the generic.
  const marker = `(${code}): `;
  const at = refusal.message.lastIndexOf(marker);
  return at >= 0
    ? refusal.message.slice(0, at + marker.length) + advice
    : `${refusal.message}: ${advice}`;
}
