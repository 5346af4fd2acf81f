import { assertEquals } from "../../support/assert.ts";
import { decodeLegacyFrame, LEGACY_SUBSCRIBE } from "../../../lib/gateway/legacy.ts";
import type { SkipReason } from "../../../lib/rules/event.ts";

Deno.test("the subscription is the seed's frame", () => {
  assertEquals(JSON.parse(LEGACY_SUBSCRIBE), { type: "subscribe", events: ["session_update"] });
});

Deno.test("a session_update becomes a turn event with the agent name trimmed, at the given time", () => {
  assertEquals(
    decodeLegacyFrame({ type: "session_update", session_id: "s1", agent: "  Primary " }, 7),
    {
      kind: "event",
      event: {
        kind: "turn",
        protocol: "legacy",
        conversation: "s1",
        agent: "Primary",
        at: 7,
        source: "live",
      },
    },
  );
});

Deno.test("a numeric session id is accepted as a conversation id", () => {
  const d = decodeLegacyFrame({ type: "session_update", session_id: 42, agent: "observer" }, 0);
  assertEquals(d.kind === "event" && d.event.kind === "turn" && d.event.conversation, "42");
});

Deno.test("frames without a conversation id are rejected, never merged", () => {
  for (const id of [undefined, null, "", "   "]) {
    assertEquals(
      decodeLegacyFrame({ type: "session_update", session_id: id, agent: "primary" }, 0),
      {
        kind: "skip",
        reason: "no_conversation",
      },
    );
  }
});

Deno.test("other types, wrong shapes and wrong field types are skipped with a reason", () => {
  const cases: [unknown, SkipReason][] = [
    [{ type: "hello" }, "other_type"],
    [[1, 2], "not_object"],
    ["text", "not_object"],
    [null, "not_object"],
    [{ type: "session_update", session_id: "s" }, "missing_field"],
    [{ type: "session_update", session_id: "s", agent: " " }, "missing_field"],
    [{ type: "session_update", session_id: "s", agent: 7 }, "bad_type"],
    [{ type: "session_update", session_id: { a: 1 }, agent: "primary" }, "bad_type"],
  ];
  for (const [frame, reason] of cases) {
    assertEquals(decodeLegacyFrame(frame, 0), { kind: "skip", reason }, JSON.stringify(frame));
  }
});
