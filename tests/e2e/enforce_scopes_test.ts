/**
 * The scopes enforcement asks for, against a real OpenClaw gateway: granted → in force and
 * shown; capped by a proxy in front of the gateway (the `x-openclaw-scopes` header OpenClaw
 * honours) → not in force, said plainly, and the coordinator keeps watching.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { freePort, OpenClawGateway } from "../support/openclaw_gateway.ts";
import { TcpProxy } from "../support/tcp_proxy.ts";
import { Daemon, runCli, sandboxFlags, statusOf, waitFor } from "../support/helpers.ts";

Deno.test("enforcement asks for its scopes and falls back to watching when they are not granted", async (t) => {
  const gw = await OpenClawGateway.start();
  const stateDir = join(gw.home, ".openclaw");
  await Deno.mkdir(join(stateDir, "audits/moses"), { recursive: true });
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  await Deno.writeTextFile(
    join(stateDir, "governance/coordinator.jsonc"),
    '{ "enforce": "prevent" }',
  );
  const proxy = new TcpProxy(gw.port, freePort());
  try {
    await t.step("permissions names the scopes the config asks for", async () => {
      const r = await runCli(["permissions", "--json"], { cwd: stateDir });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(r.stdout).gatewayScopes, [
        { scope: "operator.read", for: ["watching (always)"] },
        { scope: "operator.write", for: ["enforce prevent"] },
      ]);
    });

    await t.step("granted: in force, and status shows the scopes held", async () => {
      const daemon = new Daemon(["--gateway", gw.url], {
        cwd: stateDir,
        flags: sandboxFlags(gw.port),
      });
      try {
        await waitFor("CONNECTED", async () => (await statusOf(stateDir))?.state === "CONNECTED");
        const s = (await statusOf(stateDir))!;
        assertEquals(s.gateway.scopes, {
          asked: ["operator.read", "operator.write"],
          held: ["operator.read", "operator.write"],
        });
        assertEquals(s.enforcement.level, "prevent");
        assertEquals(s.enforcement.inForce, ["enforce prevent"]);
        assertEquals(s.enforcement.notInForce, []);
      } finally {
        assertEquals((await daemon.stop()).code, 0);
      }
    });

    await t.step(
      "capped to operator.read: not in force, DEGRADED with why, still watching",
      async () => {
        proxy.addHeaders = ["x-openclaw-scopes: operator.read"];
        proxy.listen();
        const daemon = new Daemon(["--gateway", `ws://127.0.0.1:${proxy.port}`], {
          cwd: stateDir,
          flags: sandboxFlags(proxy.port),
        });
        try {
          // Watching goes on: the catch-up runs and live events flow, DEGRADED for the scope only.
          await waitFor("DEGRADED, caught up", async () => {
            const s = await statusOf(stateDir);
            return s?.state === "DEGRADED" && (s.openclaw?.reconciles ?? 0) >= 1;
          });
          const s = (await statusOf(stateDir))!;
          assertEquals(s.gateway.scopes?.held, ["operator.read"]);
          assertEquals(s.enforcement.inForce, []);
          assertEquals(s.enforcement.notInForce?.map((o) => o.feature), ["enforce prevent"]);
          assertStringIncludes(s.reasons.join("\n"), "enforce prevent is not in force");
          assertStringIncludes(s.reasons.join("\n"), "did not grant operator.write");
          // Watching goes on: the catch-up ran and live events are counted.
          assertEquals((s.openclaw?.reconciles ?? 0) >= 1, true);
          const text = await runCli(["status"], { cwd: stateDir });
          assertEquals(text.code, 10, text.stdout);
          assertStringIncludes(text.stdout, "Enforcement:    prevent, NOT all in force");
          assertStringIncludes(text.stdout, "held operator.read");
        } finally {
          assertEquals((await daemon.stop()).code, 0);
        }
        assertStringIncludes(daemon.stderr, "enforce prevent is not in force");
      },
    );
  } finally {
    proxy.close();
    await gw.stop();
  }
});
