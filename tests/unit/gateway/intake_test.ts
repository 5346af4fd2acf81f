import { assertEquals } from "../../support/assert.ts";
import { FrameIntake, MAX_FRAME_CHARS } from "../../../lib/gateway/intake.ts";
import type { RuleEvent } from "../../../lib/rules/event.ts";

const frame = (session: string, agent: string) =>
  JSON.stringify({ type: "session_update", session_id: session, agent });

Deno.test("every skipped frame is counted under its reason, and gives no event", () => {
  const events: RuleEvent[] = [];
  const intake = new FrameIntake({ onEvent: (e) => events.push(e) });
  const inputs = [
    "not json",
    "[]",
    JSON.stringify({ type: "ping" }),
    JSON.stringify({ type: "session_update", agent: "primary" }),
    JSON.stringify({ type: "session_update", session_id: "s" }),
    JSON.stringify({ type: "session_update", session_id: "s", agent: 3 }),
    "x".repeat(MAX_FRAME_CHARS + 1),
  ];
  for (const t of inputs) assertEquals(intake.handleText(t, 0), false);
  assertEquals(intake.counters.frames, inputs.length);
  assertEquals(intake.counters.skipped, {
    not_json: 1,
    not_object: 1,
    other_type: 1,
    missing_field: 1,
    bad_type: 1,
    no_conversation: 1,
    too_large: 1,
    duplicate: 0,
  });
  assertEquals(intake.counters.events, 0);
  assertEquals(events, []);
});

Deno.test("a good frame becomes one event, in order, stamped with the time it was taken in", () => {
  const events: RuleEvent[] = [];
  const intake = new FrameIntake({ onEvent: (e) => events.push(e) });
  intake.handleText(frame("g", "primary"), 10);
  intake.handleText(frame("g", "observer"), 11);
  assertEquals(events.map((e) => [e.kind === "turn" && e.agent, e.at]), [["primary", 10], [
    "observer",
    11,
  ]]);
  assertEquals(intake.counters.frames, 2);
  assertEquals(intake.counters.events, 2);
});
