import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { tempDir } from "../../../support/helpers.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { OpenClawSource } from "../../../../lib/service/daemon/openclaw_source.ts";
import { resolvePaths } from "../../../../lib/util/paths.ts";
import { type ResolvedToken, TokenError } from "../../../../lib/gateway/openclaw/token.ts";
import type { RuleEvent } from "../../../../lib/rules/event.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { ensurePrivateDir } from "../../../../lib/util/fs.ts";

Deno.test("an openclaw.json unreadable at a reconnect keeps the last good token; the next read picks up a new one", async () => {
  await using dir = await tempDir();
  await ensurePrivateDir(dir.join("audits", "moses", "coordinator"));
  const lines: string[] = [];
  let next: () => ResolvedToken = () => ({ token: "first", source: "openclaw.json" });
  const source = new OpenClawSource({
    paths: resolvePaths(dir.path),
    logger: new Logger("json", (l) => lines.push(l)),
    conversationFrom: "rest",
    token: { token: "first", source: "openclaw.json" },
    onEvent: () => {},
    onLive: () => {},
    readToken: () => Promise.resolve().then(next),
  });
  const setup = source.setup();
  next = () => {
    throw new TokenError("Cannot read openclaw.json for the gateway token: invalid JSON5 at 1:2");
  };
  for (let i = 0; i < 3; i++) assertEquals((await setup.connectOptions()).token, "first");
  // Said once, not once per attempt, and never with the token in it.
  assertEquals(lines.filter((l) => l.includes("invalid JSON5")).length, 1);
  assertStringIncludes(lines.join("\n"), "using the token read before");
  assertEquals(lines.join("\n").includes("first"), false);
  next = () => ({ token: "rotated", source: "openclaw.json" });
  assertEquals((await setup.connectOptions()).token, "rotated");
});

Deno.test("turns from the watcher become turn events, stamped by the clock and derived ids", async () => {
  await using dir = await tempDir();
  const clock = new FakeClock(5_000);
  const events: RuleEvent[] = [];
  const source = new OpenClawSource({
    paths: resolvePaths(dir.path),
    logger: new Logger("json", () => {}),
    conversationFrom: "rest",
    token: { token: undefined, source: "none" },
    onEvent: (e) => events.push(e),
    onLive: () => {},
    clock,
  });
  const deps = source.setup().watchDeps();
  const turn = {
    sessionKey: "agent:main:g",
    agentId: "main",
    conversation: "g",
    key: "run:r1",
    seq: 3,
    at: 1_000,
  };
  deps.onTurn(turn, "catch-up");
  deps.onTurn(turn, "live");
  assertEquals(events.length, 2);
  assertEquals(events[0]!.at, 5_000);
  assertEquals(events[0]!.source, "catch-up");
  assertEquals(events[0]!.kind === "turn" && events[0]!.session, "agent:main:g");
  // The same turn, however it was learnt of, has the same id: written once.
  assertEquals(events[0]!.id, events[1]!.id);
});
