import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { Notifier } from "../../../../lib/service/enforce/mod.ts";
import { Logger } from "../../../../lib/service/log.ts";
import type { GatewayRequests } from "../../../../lib/gateway/mod.ts";
import type { Finding } from "../../../../lib/rules/mod.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { violationFinding } from "../../../support/findings.ts";

const AGENT_TEXT = "I will now delete the production database";

let n = 0;
function finding(conversation: string): Finding {
  const f = violationFinding({
    id: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
    at: 0,
    protocol: "openclaw",
    conversation,
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: ["primary", "secondary", "observer"],
  });
  // What an agent said or called with never leaves in a notice, wherever it sits in the finding.
  return { ...f, data: { ...f.data, text: AGENT_TEXT } };
}
/** A fake connection recording requests; `fail` makes each request reject. */
function fakeRequests(scopes: string[], opts: { fail?: Error; nodes?: unknown[] } = {}) {
  const sent: { method: string; params: unknown }[] = [];
  const requests: GatewayRequests = {
    scopes,
    request<T>(method: string, params?: unknown): Promise<T> {
      sent.push({ method, params });
      if (opts.fail) return Promise.reject(opts.fail);
      if (method === "node.list") return Promise.resolve({ nodes: opts.nodes ?? [] } as T);
      return Promise.resolve({ ok: true } as T);
    },
  };
  return { requests, sent };
}

function notifier(channel: "question" | "node", clock: FakeClock) {
  const lines: string[] = [];
  const nt = new Notifier({
    config: { channel, intervalSeconds: 60 },
    logger: new Logger("json", (l) => lines.push(l), () => clock.now()),
    clock,
  });
  return { nt, lines };
}

Deno.test("a burst of findings in one conversation gives one question; another conversation its own", async () => {
  const clock = new FakeClock();
  const { nt, lines } = notifier("question", clock);
  const { requests, sent } = fakeRequests(["operator.read", "operator.questions"]);
  nt.connection(requests);
  for (let i = 0; i < 5; i++) nt.accept(finding("c1"));
  nt.accept(finding("c2"));
  await nt.settled();
  assertEquals(sent.map((s) => s.method), ["question.request", "question.request"]);
  assertEquals(nt.status.sent, 2);
  assertEquals(nt.status.suppressed, 4);
  const q = (sent[0]!.params as { questions: { question: string; header: string }[] })
    .questions[0]!;
  assertStringIncludes(q.question, "conversation c1");
  assertStringIncludes(q.question, "rule sequence");
  assert(q.header.length <= 12, q.header);
  // Nothing an agent said, in what went out or in the log.
  assert(!JSON.stringify(sent).includes(AGENT_TEXT));
  assert(!lines.join("\n").includes(AGENT_TEXT));
});

Deno.test("after the interval the same conversation gets a notice again", async () => {
  const clock = new FakeClock();
  const { nt } = notifier("question", clock);
  const { requests, sent } = fakeRequests(["operator.questions"]);
  nt.connection(requests);
  nt.accept(finding("c1"));
  await clock.tick(59_999);
  nt.accept(finding("c1"));
  await clock.tick(1);
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(sent.length, 2);
  assertEquals(nt.status, {
    channel: "question",
    intervalSeconds: 60,
    sent: 2,
    suppressed: 1,
    failed: 0,
    failures: {},
    lastSentAt: new Date(clock.now()).toISOString(),
  });
});

Deno.test("while disconnected a notice fails, is counted with why, and the next finding tries again", async () => {
  const clock = new FakeClock();
  const { nt, lines } = notifier("question", clock);
  nt.accept(finding("c1"));
  nt.accept(finding("c1")); // while the first is on its way: the burst's one attempt
  await nt.settled();
  assertEquals(nt.status.suppressed, 1);
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(nt.status.failed, 2, "a failure gives the conversation back");
  assertEquals(nt.status.failures, { "not connected to the gateway": 2 });
  assertEquals(nt.status.lastFailure?.reason, "not connected to the gateway");
  assertEquals(lines.filter((l) => l.includes("Cannot send a notice")).length, 1, "logged once");
  const { requests, sent } = fakeRequests(["operator.questions"]);
  nt.connection(requests);
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(sent.length, 1);
  assertEquals(nt.status.sent, 1);
  nt.connection(undefined);
  nt.accept(finding("c2"));
  await nt.settled();
  assertEquals(nt.status.failures, { "not connected to the gateway": 3 });
});

Deno.test("without the channel's scope nothing is sent and the failure says which scope", async () => {
  const clock = new FakeClock();
  const { nt } = notifier("question", clock);
  const { requests, sent } = fakeRequests(["operator.read"]);
  nt.connection(requests);
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(sent, []);
  assertEquals(nt.status.failures, { "the gateway did not grant operator.questions": 1 });
});

Deno.test("a request the gateway refuses is counted with the gateway's error, never thrown", async () => {
  const clock = new FakeClock();
  const { nt } = notifier("question", clock);
  const { requests } = fakeRequests(["operator.questions"], {
    fail: new Error("question.request failed: missing scope (MISSING_SCOPE)"),
  });
  nt.connection(requests);
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(nt.status.sent, 0);
  assertEquals(nt.status.failures, {
    "the gateway refused: question.request failed: missing scope (MISSING_SCOPE)": 1,
  });
});

Deno.test("node channel: every connected device offering system.notify gets the notice", async () => {
  const clock = new FakeClock();
  const { nt } = notifier("node", clock);
  const { requests, sent } = fakeRequests(["operator.read", "operator.write"], {
    nodes: [
      { nodeId: "phone", connected: true, commands: ["system.notify"] },
      { nodeId: "away", connected: false, commands: ["system.notify"] },
      { nodeId: "camera", connected: true, commands: ["camera.snap"] },
    ],
  });
  nt.connection(requests);
  nt.accept(finding("c1"));
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(sent.map((s) => s.method), ["node.list", "node.invoke"]);
  const p = sent[1]!.params as { nodeId: string; command: string; params: { body: string } };
  assertEquals(p.nodeId, "phone");
  assertEquals(p.command, "system.notify");
  assertStringIncludes(p.params.body, "conversation c1");
  assertEquals(nt.status.sent, 1);
  assertEquals(nt.status.suppressed, 1);
});

Deno.test("node channel: no device to notify is a counted failure that says how to fix it", async () => {
  const clock = new FakeClock();
  const { nt } = notifier("node", clock);
  const { requests } = fakeRequests(["operator.write"], { nodes: [] });
  nt.connection(requests);
  nt.accept(finding("c1"));
  await nt.settled();
  assertEquals(Object.keys(nt.status.failures), [
    "no connected device offers system.notify (pair one with OpenClaw)",
  ]);
});
