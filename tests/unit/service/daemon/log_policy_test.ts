import { assertEquals } from "../../../support/assert.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { Logger } from "../../../../lib/service/log.ts";
import {
  DROP_LOG_INTERVAL_MS,
  FAILURE_LOG_INTERVAL_MS,
  LogPolicy,
  WRITE_ERROR_REPEAT_MS,
} from "../../../../lib/service/daemon/log_policy.ts";
import { violationFinding } from "../../../support/findings.ts";

function setup() {
  const clock = new FakeClock();
  const lines: string[] = [];
  const logger = new Logger("json", (line) => lines.push(line), () => clock.now());
  let dropped = 0;
  const policy = new LogPolicy({ logger, clock, droppedInAll: () => dropped });
  const msgs = () => lines.map((l) => JSON.parse(l).msg as string);
  return { clock, policy, msgs, setDropped: (n: number) => (dropped = n) };
}

const finding = violationFinding({
  id: "a",
  at: 0,
  protocol: "legacy",
  conversation: "c",
  agent: "observer",
  role: "observer",
  expected: "secondary",
  sequence: ["primary", "secondary", "observer"],
});

Deno.test("a ledger write error is logged at once when new, and once a minute while it repeats", async () => {
  const { clock, policy, msgs } = setup();
  policy.writeError("disk full", 1);
  await clock.tick(1_000);
  policy.writeError("disk full", 2);
  policy.writeError("read-only", 2);
  await clock.tick(WRITE_ERROR_REPEAT_MS);
  policy.writeError("read-only", 3);
  assertEquals(msgs(), ["disk full", "read-only", "read-only"]);
});

Deno.test("drops: the first of a burst at once, the rest as one line after the interval", async () => {
  const { clock, policy, msgs, setDropped } = setup();
  for (let i = 0; i < 5; i++) policy.dropped(finding);
  setDropped(5);
  assertEquals(msgs().length, 1);
  await clock.tick(DROP_LOG_INTERVAL_MS - 1);
  assertEquals(msgs().length, 1);
  await clock.tick(1);
  assertEquals(msgs()[1], "4 more violations dropped: too many waiting to be written");
  // The next burst starts with an error line of its own.
  policy.dropped(finding);
  assertEquals(msgs().length, 3);
  policy.flushDrops();
  assertEquals(msgs().length, 3);
});

Deno.test("a gateway that stays down: the first failure, then one reminder per ten minutes", async () => {
  const { clock, policy, msgs } = setup();
  const down = { reason: "refused", retryInMs: 1000, planned: false, gateway: "ws://x" };
  policy.linkDown({ ...down, wasConnected: true });
  for (let i = 0; i < 100; i++) {
    policy.linkDown({ ...down, wasConnected: false });
    await clock.tick(10_000);
  }
  // 1,000 s of failures: "disconnected", the first "cannot connect", one reminder.
  assertEquals(msgs(), ["disconnected", "cannot connect", "cannot connect"]);
  assertEquals(policy.failedAttempts, 100);
  await clock.tick(FAILURE_LOG_INTERVAL_MS);
  policy.linkDown({ ...down, wasConnected: false });
  assertEquals(msgs().length, 4);
  policy.linkUp();
  assertEquals(policy.failedAttempts, 0);
});

Deno.test("a restart the gateway announced is not a failure while it lasts", async () => {
  const { clock, policy, msgs } = setup();
  const down = { reason: "restart", retryInMs: 5_000, gateway: "ws://x" };
  policy.linkDown({ ...down, planned: true, wasConnected: true });
  await clock.tick(1_000);
  policy.linkDown({ ...down, planned: false, wasConnected: false });
  assertEquals(msgs(), ["gateway restarting", "waiting for the gateway to come back"]);
  await clock.tick(65_000);
  policy.linkDown({ ...down, planned: false, wasConnected: false });
  assertEquals(msgs()[2], "cannot connect");
});

Deno.test("'already stopping' is said once however many stop signals follow", () => {
  const { policy, msgs } = setup();
  for (let i = 0; i < 5; i++) policy.alreadyStopping();
  assertEquals(msgs(), ["already stopping"]);
});
