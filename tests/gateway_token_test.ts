import { assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { join } from "node:path";
import { resolveToken, TokenError, tokenFromConfig } from "../lib/gateway/openclaw/token.ts";
import { tempStateDir } from "./support/helpers.ts";

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
  const dir = await tempStateDir();
  const path = join(dir, "openclaw.json");
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
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed openclaw.json gives the position and not its contents", async () => {
  const dir = await tempStateDir();
  const path = join(dir, "openclaw.json");
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
    await Deno.remove(dir, { recursive: true });
  }
});
