import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { ToolPolicySource } from "../../../../lib/service/daemon/tool_policy_source.ts";
import type { GatewayRequests } from "../../../../lib/gateway/openclaw/watch.ts";
import type { ToolPolicyEvent } from "../../../../lib/rules/event.ts";
import { FakeClock } from "../../../support/fake_clock.ts";

const SECRET = "gw-secret-token";

// A config.get answer as the gateway gives it: the whole config, secrets redacted or not.
function answer(tools: unknown) {
  return {
    raw: `{ gateway: { auth: { token: "${SECRET}" } } }`,
    runtimeConfig: {
      gateway: { auth: { mode: "token", token: SECRET } },
      agents: { entries: { primary: {}, observer: { tools: { deny: ["write"] } } } },
      tools,
    },
  };
}

function rig() {
  const events: ToolPolicyEvent[] = [];
  const lines: string[] = [];
  const clock = new FakeClock(1_800_000_000_000);
  const source = new ToolPolicySource({
    logger: new Logger("json", (l) => lines.push(l)),
    clock,
    onPolicy: (e) => events.push(e),
  });
  return { events, lines, source, clock };
}

function requests(
  answers: Array<() => Promise<unknown>>,
  scopes = ["operator.read"],
): GatewayRequests & { calls: string[] } {
  const calls: string[] = [];
  return {
    scopes,
    calls,
    request<T>(method: string): Promise<T> {
      calls.push(method);
      const next = answers.shift();
      if (next === undefined) return Promise.reject(new Error("no more answers"));
      return next() as Promise<T>;
    },
  };
}

Deno.test("reads config.get at connect: the tool policy only, no other config, hashed", async () => {
  const { events, source } = rig();
  const r = requests([() => Promise.resolve(answer({ profile: "coding", deny: ["exec"] }))]);
  source.connection(r);
  await source.settled();
  assertEquals(r.calls, ["config.get"]);
  assertEquals(events.length, 1);
  const e = events[0]!;
  assertEquals([e.kind, e.source], ["tool_policy", "live"]);
  assertEquals(e.policy, {
    global: { profile: "coding", deny: ["exec"] },
    agents: { primary: {}, observer: { deny: ["write"] } },
  });
  assertEquals(e.hash.length, 64);
  assertEquals(JSON.stringify(e).includes(SECRET), false);
  assertEquals(source.status.state, "read");
});

Deno.test("config.changed reads again (live); a change during a read is read once after it", async () => {
  const { events, source } = rig();
  let release!: () => void;
  const slow = new Promise<void>((r) => release = r);
  const r = requests([
    () => slow.then(() => answer({ deny: ["a"] })),
    () => Promise.resolve(answer({ deny: ["b"] })),
  ]);
  source.connection(r);
  source.gatewayEvent({ type: "event", event: "config.changed", payload: {} });
  source.gatewayEvent({ type: "event", event: "config.changed", payload: {} });
  source.gatewayEvent({ type: "event", event: "tick", payload: {} });
  release();
  await source.settled();
  assertEquals(r.calls.length, 2);
  assertEquals(events.map((e) => e.policy.global.deny), [["a"], ["b"]]);
  assertEquals(events.map((e) => e.source), ["live", "live"]);
});

Deno.test("a read that fails is a status line and one log line, not a throw", async () => {
  const { events, source, lines } = rig();
  source.connection(requests([], ["operator.write"]));
  await source.settled();
  assertEquals(source.status.state, "failed");
  assertStringIncludes(source.status.error!, "did not grant operator.read");
  const timeout = () => Promise.reject(new Error("request config.get timed out after 10000 ms"));
  const r = requests([timeout, timeout, () => Promise.resolve({ nothing: true })]);
  source.connection(r);
  await source.settled();
  assertEquals(
    source.status.error,
    "Cannot read the gateway's tool policy: request config.get timed out after 10000 ms",
  );
  source.gatewayEvent({ type: "event", event: "config.changed" });
  await source.settled();
  // The same failure twice is logged once.
  assertEquals(lines.filter((l) => l.includes("timed out")).length, 1);
  source.gatewayEvent({ type: "event", event: "config.changed" });
  await source.settled();
  assertStringIncludes(source.status.error!, "the gateway's config.get answer has no config");
  assertEquals(events, []);
  assert(lines.every((l) => !l.includes(SECRET)));
});

Deno.test("a read cut short by the connection's end says nothing; the next connection reads", async () => {
  const { events, source, lines } = rig();
  let fail!: (e: Error) => void;
  source.connection(requests([() => new Promise((_, rej) => fail = rej)]));
  source.connection(undefined);
  fail(new Error("connection closed"));
  await source.settled();
  assertEquals([source.status.state, lines.length], ["unread", 0]);
  source.connection(requests([() => Promise.resolve(answer(undefined))]));
  await source.settled();
  assertEquals(events.length, 1);
  assertEquals(events[0]!.policy.global, {});
});
