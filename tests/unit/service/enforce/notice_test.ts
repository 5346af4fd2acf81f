import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import {
  MAX_DETAIL_CHARS,
  NoticeGate,
  noticeOf,
  notifyScopes,
} from "../../../../lib/service/enforce/mod.ts";
import type { Finding } from "../../../../lib/rules/mod.ts";
import { DEFAULT_CONFIG } from "../../../../lib/service/config.ts";
import { violationFinding } from "../../../support/findings.ts";

const finding = violationFinding({
  id: "0f0e0d0c-0000-4000-8000-000000000001",
  at: 0,
  protocol: "openclaw",
  conversation: "c1",
  agent: "observer",
  role: "observer",
  expected: "secondary",
  sequence: ["primary", "secondary", "observer"],
});

Deno.test("a notice names the rule, the conversation, the agent and the ledger entry", () => {
  const n = noticeOf(finding);
  assertEquals(n.title, "MO§ES: sequence violation");
  assertStringIncludes(n.body, "Sequence violation in conversation c1: observer responded");
  assertStringIncludes(n.body, "rule sequence");
  assertStringIncludes(n.body, "conversation c1");
  assertStringIncludes(n.body, "agent observer");
  assertStringIncludes(n.body, `ledger entry ${finding.id}`);
  assertEquals(n.conversation, "c1");
  assertEquals(n.entryId, finding.id);
});

Deno.test("a notice carries none of the finding's structured object (where text could hide)", () => {
  const secret = "THE-AGENT-SAID-THIS";
  const f: Finding = {
    ...finding,
    data: { ...finding.data, text: secret, args: { path: secret } },
  };
  const n = noticeOf(f);
  assert(!JSON.stringify(n).includes(secret), JSON.stringify(n));
});

Deno.test("a notice's detail is one line and bounded", () => {
  const f: Finding = { ...finding, detail: `line one\nline two\r\u0007${"x".repeat(1000)}` };
  const n = noticeOf(f);
  assert(!/\p{Cc}/u.test(n.body), n.body);
  assertStringIncludes(n.body, "line one line two");
  assert(n.body.length < MAX_DETAIL_CHARS + 200, String(n.body.length));
});

Deno.test("a finding without a conversation (a governance change) is gated under its own key", () => {
  const f: Finding = { ...finding, conversation: undefined, agent: undefined };
  const n = noticeOf(f);
  assertEquals(n.conversation, "");
  assert(!n.body.includes("conversation c1;"), n.body);
});

Deno.test("the notify channel's scope: none when off, questions or write otherwise", () => {
  assertEquals(notifyScopes(DEFAULT_CONFIG), []);
  assertEquals(notifyScopes({ notify: { channel: "question", intervalSeconds: 1 } }), [
    "operator.questions",
  ]);
  assertEquals(notifyScopes({ notify: { channel: "node", intervalSeconds: 1 } }), [
    "operator.write",
  ]);
});

Deno.test("the gate lets one notice per conversation per interval through", () => {
  const g = new NoticeGate(1000);
  assert(g.take("c1", 0));
  assert(!g.take("c1", 999), "within the interval");
  assert(g.take("c2", 500), "another conversation has its own interval");
  assert(g.take("c1", 1000), "the interval has passed");
  assert(!g.take("c1", 1500));
});

Deno.test("a failed notice gives its conversation back; a later take is not undone", () => {
  const g = new NoticeGate(1000);
  assert(g.take("c1", 0));
  g.giveBack("c1", 0);
  assert(g.take("c1", 10), "given back: the next finding tries again");
  g.giveBack("c1", 0); // an older attempt failing late does not free the newer one
  assert(!g.take("c1", 20));
});

Deno.test("the gate remembers a bounded number of conversations, forgetting the longest quiet", () => {
  const g = new NoticeGate(1000, 3);
  for (const [i, c] of ["a", "b", "c", "d"].entries()) assert(g.take(c, i));
  assertEquals(g.size, 3);
  assert(g.take("a", 5), "a was the longest quiet: forgotten");
  assert(!g.take("d", 5), "d is remembered");
});
