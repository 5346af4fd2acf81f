/**
 * `deno task bench --only tools`: tool calls.
 * - In process: `session.tool` start and result frames (the real ones of
 *   examples/openclaw-tool-calls.jsonl, with fresh run and call ids) through the recording
 *   decoder (the live watcher's assembler and event mapping) and the rule engine with every
 *   rule; per second, under posture scout (most calls are findings) and offense (none).
 * - On a real gateway with the scripted model: the time from the `session.tool` result (as a
 *   read-only client receives it) to the coordinator's ledger line, p50 and p99.
 */
import { RecordingDecoder } from "../lib/gateway/recording.ts";
import { buildRuleEngine } from "../lib/service/rule_set.ts";
import { DEFAULT_CONFIG } from "../lib/service/config.ts";
import type { Config } from "../lib/service/config.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../lib/rules/governance.ts";
import { fmt, percentile } from "./load.ts";

type Report = (name: string, value: string) => void;

interface Frame {
  type: "event";
  event: string;
  payload: Record<string, unknown>;
}

async function toolFrames(): Promise<Frame[]> {
  const text = await Deno.readTextFile(
    new URL("../examples/openclaw-tool-calls.jsonl", import.meta.url),
  );
  return text.trim().split("\n").map((l) => JSON.parse(l) as Frame)
    .filter((f) => f.event === "session.tool" && f.payload.isHeartbeat !== true);
}

function inProcess(frames: Frame[], governance: Governance, n: number): number {
  let findings = 0;
  const engine = buildRuleEngine(structuredClone(DEFAULT_CONFIG) as Config, {
    governance: () => governance,
    onFinding: () => findings++,
  });
  const decoder = new RecordingDecoder("rest");
  // Each pass renames the run, so every call is new to the decoder.
  const t0 = performance.now();
  let calls = 0;
  for (let i = 0; calls < n; i++) {
    const runId = `run-${i}`;
    for (const f of frames) {
      const d = decoder.decode({ ...f, payload: { ...f.payload, runId } }, 0);
      if (d.kind === "event") {
        engine.handle(d.event);
        calls++;
      }
    }
  }
  const s = (performance.now() - t0) / 1000;
  if (findings === 0 && governance.fields.posture === "scout") throw new Error("no findings");
  return calls / s;
}

/** Runs the tool-call benchmarks. */
export async function toolsBench(report: Report): Promise<void> {
  const frames = await toolFrames();
  const scout: Governance = {
    ...DEFAULT_GOVERNANCE,
    fields: { ...DEFAULT_GOVERNANCE.fields, posture: "scout", mode: "high-security" },
  };
  const offense: Governance = {
    ...DEFAULT_GOVERNANCE,
    fields: { ...DEFAULT_GOVERNANCE.fields, posture: "offense" },
  };
  inProcess(frames, scout, 50_000); // warm up
  for (const [name, g] of [["scout + high-security", scout], ["offense", offense]] as const) {
    const rates = [1, 2, 3].map(() => inProcess(frames, g, 300_000));
    report(
      `tools: calls judged/s in process, ${name} (3 runs)`,
      rates.map((r) => fmt(r, 0)).join(" / "),
    );
  }
  await gatewayLatency(report);
}

async function gatewayLatency(report: Report): Promise<void> {
  const { OpenClawGateway } = await import("../tests/support/openclaw_gateway.ts");
  const { ModelServer } = await import("../tests/support/model_server.ts");
  const { Daemon, sandboxFlags, statusOf, waitFor } = await import("../tests/support/helpers.ts");
  const { FrameSocket } = await import("../lib/gateway/socket.ts");
  const { OpenClawConnection } = await import("../lib/gateway/openclaw/connection.ts");
  const { generateIdentity } = await import("../lib/gateway/openclaw/device_identity.ts");
  const model = ModelServer.start();
  const gw = await OpenClawGateway.start({ model });
  const stateDir = `${gw.home}/.openclaw`;
  await Deno.mkdir(`${stateDir}/governance`, { recursive: true });
  await Deno.writeTextFile(
    `${stateDir}/governance/state.json`,
    JSON.stringify({ mode: "high-integrity", posture: "scout", role: "primary" }),
  );
  // Only the tool-call rules: the others would add lines of their own for every run.
  await Deno.writeTextFile(
    `${stateDir}/governance/coordinator.jsonc`,
    "{ rules: { audit: false, governance: false, drift: false } }",
  );
  const daemon = new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
  const socket = await FrameSocket.open(gw.url, 10_000);
  const watcher = await OpenClawConnection.connect(socket, {
    identity: await generateIdentity(),
    token: gw.token,
    useDeviceToken: false,
    scopes: ["operator.read"],
    version: "bench",
    platform: "linux",
    timeoutMs: 10_000,
  });
  const resultAt = new Map<string, number>();
  watcher.onEvent = (f) => {
    const p = f.payload as { runId?: string; data?: { phase?: string } } | undefined;
    if (f.event === "session.tool" && p?.data?.phase === "result" && p.runId) {
      resultAt.set(p.runId, performance.now());
    }
  };
  await watcher.request("sessions.subscribe", {});
  const driver = await gw.driver();
  const ledger = `${stateDir}/audits/moses/audit_ledger.jsonl`;
  const lines = async () => {
    try {
      return (await Deno.readTextFile(ledger)).split("\n").length - 1;
    } catch {
      return 0;
    }
  };
  try {
    await waitFor(
      "CONNECTED",
      async () => (await statusOf(stateDir))?.state === "CONNECTED",
      30_000,
    );
    await driver.run("primary", "warm", 'CALL write {"path":"w.txt","content":"x"}');
    await waitFor("the first line", async () => (await lines()) >= 1, 30_000);
    const n = 40;
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const before = await lines();
      const sessionKey = await driver.session("primary", `bench-${i}`);
      const runId = crypto.randomUUID();
      await driver.conn.request("chat.send", {
        sessionKey,
        message: `CALL write {"path":"b${i}.txt","content":"x"}`,
        idempotencyKey: runId,
      });
      // Polling the file at 1 ms is the bench's clock, not the coordinator's way.
      while ((await lines()) <= before) await new Promise((r) => setTimeout(r, 1));
      const last = (await Deno.readTextFile(ledger)).trimEnd().split("\n").at(-1)!;
      if (JSON.parse(last).tool_call?.run !== runId) throw new Error("Not this run's line");
      const seenAt = performance.now();
      const at = resultAt.get(runId);
      if (at !== undefined) lat.push(seenAt - at);
      await driver.conn.request("agent.wait", { runId, timeoutMs: 60_000 });
    }
    lat.sort((a, b) => a - b);
    report(
      `tools: session.tool result to ledger line on a real gateway, p50 / p99 ms (${lat.length})`,
      `${fmt(percentile(lat, 0.5), 1)} / ${fmt(percentile(lat, 0.99), 1)}`,
    );
  } finally {
    watcher.close();
    driver.close();
    await daemon.stop();
    await gw.stop();
    await model.stop();
  }
}
