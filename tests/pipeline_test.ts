import { assertEquals } from "./support/assert.ts";
import { MAX_FRAME_CHARS, Pipeline } from "../lib/rules/pipeline.ts";
import { RoleMap } from "../lib/rules/roles.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/rules/sequence.ts";
import { decodeLegacyFrame } from "../lib/gateway/legacy.ts";

function pipeline(roles: Record<string, string> = {}) {
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e9, maxConversations: 100 });
  let n = 0;
  return new Pipeline(engine, new RoleMap(roles, DEFAULT_SEQUENCE), () => `v${++n}`);
}

const frame = (session: string, agent: string) =>
  JSON.stringify({ type: "session_update", session_id: session, agent });

Deno.test("a violation carries conversation, agent, role, expected role and the sequence", () => {
  const p = pipeline({ bob: "observer" });
  p.handleText(frame("g", "primary"), 1, decodeLegacyFrame);
  const v = p.handleText(frame("g", "Bob"), 2, decodeLegacyFrame);
  assertEquals(v, {
    id: "v1",
    at: 2,
    protocol: "legacy",
    conversation: "g",
    agent: "Bob",
    role: "observer",
    expected: "secondary",
    sequence: DEFAULT_SEQUENCE,
  });
  assertEquals(p.counters.violations, 1);
});

Deno.test("every skipped frame is counted under its reason", () => {
  const p = pipeline();
  const inputs = [
    "not json",
    "[]",
    JSON.stringify({ type: "ping" }),
    JSON.stringify({ type: "session_update", agent: "primary" }),
    JSON.stringify({ type: "session_update", session_id: "s" }),
    JSON.stringify({ type: "session_update", session_id: "s", agent: 3 }),
    "x".repeat(MAX_FRAME_CHARS + 1),
  ];
  for (const t of inputs) assertEquals(p.handleText(t, 0, decodeLegacyFrame), undefined);
  assertEquals(p.counters.frames, inputs.length);
  assertEquals(p.counters.skipped, {
    not_json: 1,
    not_object: 1,
    other_type: 1,
    missing_field: 1,
    bad_type: 1,
    no_conversation: 1,
    too_large: 1,
    duplicate: 0,
  });
  assertEquals(p.counters.observations, 0);
});

Deno.test("agents outside the sequence are counted and do not disturb the order", () => {
  const p = pipeline();
  p.handleText(frame("g", "primary"), 0, decodeLegacyFrame);
  assertEquals(p.handleText(frame("g", "narrator"), 1, decodeLegacyFrame), undefined);
  assertEquals(p.handleText(frame("g", "secondary"), 2, decodeLegacyFrame), undefined);
  assertEquals(p.counters.unknownAgents, 1);
});

Deno.test("with enforcement off (broadcast) nothing is a violation and the frames are counted", () => {
  const p = pipeline();
  p.enforcement = { enabled: false, reason: "broadcast" };
  assertEquals(p.handleText(frame("g", "observer"), 0, decodeLegacyFrame), undefined);
  assertEquals(p.counters.notEnforced, 1);
  assertEquals(p.counters.violations, 0);
});
