/**
 * `deno task bench --only notify`: notices to the operator.
 * - In process: what the notifier adds per finding (the notice made, the interval gate), for
 *   findings over 1,000 conversations, nearly all held back by the interval.
 * - On a real gateway: the time from an out-of-turn answer (`chat.inject` answered) to the
 *   question reaching an operator client with `operator.questions`, p50 and p99.
 */
import { Notifier } from "../lib/service/enforce/mod.ts";
import { Logger } from "../lib/service/log.ts";
import { sequenceFinding } from "../lib/rules/sequence_rule.ts";
import { DEFAULT_SEQUENCE } from "../lib/rules/sequence.ts";
import type { GatewayRequests } from "../lib/gateway/mod.ts";
import { fmt, percentile } from "./load.ts";

type Report = (name: string, value: string) => void;

async function inProcess(n: number): Promise<number> {
  let sent = 0;
  const requests: GatewayRequests = {
    scopes: ["operator.read", "operator.questions"],
    request: <T>() => (sent++, Promise.resolve({} as T)),
  };
  const notifier = new Notifier({
    config: { channel: "question", intervalSeconds: 300 },
    logger: new Logger("json", () => {}),
  });
  notifier.connection(requests);
  const findings = Array.from({ length: n }, (_, i) =>
    sequenceFinding({
      id: crypto.randomUUID(),
      protocol: "openclaw",
      conversation: `conversation-${i % 1000}`,
      agent: "observer",
      role: "observer",
      expected: "secondary",
      sequence: DEFAULT_SEQUENCE,
    }, 0));
  const t0 = performance.now();
  for (const f of findings) notifier.accept(f);
  await notifier.settled();
  const s = (performance.now() - t0) / 1000;
  if (sent !== 1000) throw new Error(`${sent} notices for 1,000 conversations`);
  return n / s;
}

/** Runs the notice benchmarks. */
export async function notifyBench(report: Report): Promise<void> {
  await inProcess(50_000); // warm up
  const rates = [];
  for (let i = 0; i < 3; i++) rates.push(await inProcess(200_000));
  report(
    "notify: findings/s through the notifier (1,000 conversations, 3 runs)",
    rates.map((r) => fmt(r, 0)).join(" / "),
  );
  await gatewayLatency(report);
}

async function gatewayLatency(report: Report): Promise<void> {
  const { OpenClawGateway } = await import("../tests/support/openclaw_gateway.ts");
  const { QuestionWatcher } = await import("../tests/support/question_watcher.ts");
  const { Daemon, sandboxFlags, statusOf, waitFor } = await import("../tests/support/helpers.ts");
  const gw = await OpenClawGateway.start();
  const stateDir = `${gw.home}/.openclaw`;
  await Deno.mkdir(`${stateDir}/governance`, { recursive: true });
  await Deno.writeTextFile(
    `${stateDir}/governance/coordinator.jsonc`,
    '{ rules: { audit: false, drift: false }, notify: { channel: "question" } }',
  );
  const daemon = new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
  const human = await QuestionWatcher.connect(gw);
  const driver = await gw.driver();
  try {
    await waitFor("live", async () => {
      const s = await statusOf(stateDir);
      return s?.state === "CONNECTED" && s.reasons.length === 0;
    }, 60_000);
    const n = 30;
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      await driver.say("primary", `notice-${i}`);
      const t0 = performance.now();
      await driver.say("observer", `notice-${i}`);
      await human.until(i + 1);
      lat.push(human.questions[i]!.at - t0);
    }
    // The gateway loads its question handlers on the first question.request: shown apart.
    const [first, ...rest] = lat;
    rest.sort((a, b) => a - b);
    report("notify: out-of-turn answer to the first question shown, ms", fmt(first!, 1));
    report(
      `notify: the same, later ones, ms (p50 / p90 / max, n=${rest.length})`,
      [0.5, 0.9, 1].map((p) => fmt(percentile(rest, p), 1)).join(" / "),
    );
  } finally {
    await daemon.stop();
    human.close();
    driver.close();
    await gw.stop();
  }
}
