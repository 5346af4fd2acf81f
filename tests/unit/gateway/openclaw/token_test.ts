import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../../support/assert.ts";
import {
  describeTokenSource,
  resolveToken,
  TokenError,
  tokenFromConfig,
  withTokenSource,
} from "../../../../lib/gateway/openclaw/token.ts";
import { classifyConnectError } from "../../../../lib/gateway/openclaw/protocol.ts";
import { GatewayRefused } from "../../../../lib/gateway/link.ts";
import { tempDir } from "../../../support/helpers.ts";

Deno.test("gateway.auth.token as a string is the token", () => {
  assertEquals(tokenFromConfig({ gateway: { auth: { token: "s3cret" } } }, "openclaw.json"), {
    token: "s3cret",
    source: "openclaw.json",
  });
});

Deno.test("a secret reference or an env reference explains what to set instead, without a token in it", () => {
  const ref = assertThrows(
    () =>
      tokenFromConfig({
        gateway: { auth: { token: { source: "exec", provider: "vault", id: "gw" } } },
      }, "o.json"),
    TokenError,
    'secret reference (source "exec")',
  );
  assertEquals(ref.message.includes("set OPENCLAW_GATEWAY_TOKEN"), true);
  assertThrows(
    () => tokenFromConfig({ gateway: { auth: { token: "${GW_TOKEN}" } } }, "o.json"),
    TokenError,
    "environment variable GW_TOKEN",
  );
});

Deno.test("no token anywhere means connecting without one, with a warning", () => {
  const r = tokenFromConfig({ gateway: { auth: { mode: "none" } } }, "o.json");
  assertEquals([r.token, r.source, typeof r.warning], [undefined, "none", "string"]);
});

Deno.test("the environment wins over openclaw.json, which is read as JSON5", async () => {
  await using dir = await tempDir();
  const path = dir.join("openclaw.json");
  await Deno.writeTextFile(path, "// JSON5\n{ gateway: { auth: { token: 'from-file', }, }, }\n");
  const saved = Deno.env.get("OPENCLAW_GATEWAY_TOKEN");
  try {
    Deno.env.delete("OPENCLAW_GATEWAY_TOKEN");
    assertEquals(await resolveToken(path), { token: "from-file", source: "openclaw.json" });
    Deno.env.set("OPENCLAW_GATEWAY_TOKEN", "from-env");
    assertEquals(await resolveToken(path), { token: "from-env", source: "env" });
  } finally {
    if (saved === undefined) Deno.env.delete("OPENCLAW_GATEWAY_TOKEN");
    else Deno.env.set("OPENCLAW_GATEWAY_TOKEN", saved);
  }
});

Deno.test("a malformed openclaw.json gives the position and not its contents", async () => {
  await using dir = await tempDir();
  const path = dir.join("openclaw.json");
  await Deno.writeTextFile(path, '{ gateway: { auth: { token: "tok-abc" } }\n  oops }');
  const saved = Deno.env.get("OPENCLAW_GATEWAY_TOKEN");
  Deno.env.delete("OPENCLAW_GATEWAY_TOKEN");
  try {
    const err = await assertRejects(
      () => resolveToken(path),
      TokenError,
      "invalid JSON5 at line 2 column 3",
    );
    assertEquals(err.message.includes("tok-abc"), false);
  } finally {
    if (saved !== undefined) Deno.env.set("OPENCLAW_GATEWAY_TOKEN", saved);
  }
});

/** The refusal the link reports for a gateway error, as the daemon receives it. */
function refusal(code: string, message: string): GatewayRefused {
  const f = classifyConnectError({ code: "INVALID_REQUEST", message, details: { code } }, false);
  if (f.kind !== "fatal") throw new Error(`${code} is not final`);
  return new GatewayRefused(`The gateway refused the coordinator: ${f.message}`, f.code);
}

Deno.test("a refused token is reported with where it came from, never the token", () => {
  const wrong = refusal("AUTH_TOKEN_MISMATCH", "unauthorized: gateway token mismatch");
  const fromEnv = withTokenSource(wrong, { token: "tok-env-123", source: "env" });
  assertEquals(
    fromEnv,
    "The gateway refused the coordinator: unauthorized: gateway token mismatch " +
      "(AUTH_TOKEN_MISMATCH): the token from OPENCLAW_GATEWAY_TOKEN was rejected: unset " +
      "OPENCLAW_GATEWAY_TOKEN (gateway.auth.token in openclaw.json is then used) or set it to " +
      "the gateway's token, then restart the coordinator",
  );
  const fromFile = withTokenSource(wrong, { token: "tok-file-456", source: "openclaw.json" });
  assertStringIncludes(
    fromFile,
    "(AUTH_TOKEN_MISMATCH): the token from openclaw.json gateway.auth.token was rejected: " +
      "set gateway.auth.token in openclaw.json to the gateway's token",
  );
  const none = withTokenSource(
    refusal("AUTH_TOKEN_MISSING", "unauthorized: gateway token missing"),
    { token: undefined, source: "none" },
  );
  assertStringIncludes(
    none,
    "(AUTH_TOKEN_MISSING): no token was sent: OPENCLAW_GATEWAY_TOKEN is not set and " +
      "openclaw.json has no gateway.auth.token",
  );
  for (const code of ["AUTH_REQUIRED", "AUTH_UNAUTHORIZED", "AUTH_RATE_LIMITED"]) {
    assertStringIncludes(
      withTokenSource(refusal(code, "unauthorized"), { token: "t", source: "env" }),
      "the token from OPENCLAW_GATEWAY_TOKEN was rejected",
    );
  }
  // Refusals that are not about the token are left as they are.
  const pairing = refusal("PAIRING_REQUIRED", "pairing required");
  assertEquals(withTokenSource(pairing, { token: "t", source: "env" }), pairing.message);
  assertEquals(
    withTokenSource(new Error("Permission to connect denied"), { token: "t", source: "env" }),
    "Permission to connect denied",
  );
  for (const text of [fromEnv, fromFile]) {
    assertEquals(text.includes("tok-env-123") || text.includes("tok-file-456"), false);
  }
});

Deno.test("a refused token with spaces around it says so, without showing it", () => {
  const text = withTokenSource(
    refusal("AUTH_TOKEN_MISMATCH", "unauthorized: gateway token mismatch"),
    { token: "tok-abc\n", source: "env" },
  );
  assertStringIncludes(text, "the token from OPENCLAW_GATEWAY_TOKEN was rejected");
  assertStringIncludes(text, "it has whitespace at its start or end: a newline from a file?");
  assertEquals(text.includes("tok-abc"), false);
});

Deno.test("describeTokenSource names the place, never the token", () => {
  assertEquals(describeTokenSource("env"), "OPENCLAW_GATEWAY_TOKEN");
  assertEquals(describeTokenSource("openclaw.json"), "openclaw.json gateway.auth.token");
  assertEquals(describeTokenSource("none"), "no token");
});
