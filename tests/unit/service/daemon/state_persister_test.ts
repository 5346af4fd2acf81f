import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { tempDir } from "../../../support/helpers.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { violationFinding } from "../../../support/findings.ts";
import { Logger } from "../../../../lib/service/log.ts";
import { SAVE_DELAY_MS, StatePersister } from "../../../../lib/service/daemon/state_persister.ts";
import { loadSnapshot } from "../../../../lib/service/snapshot.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { SequenceRule } from "../../../../lib/rules/sequence_rule.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../../../../lib/rules/sequence.ts";
import { RoleMap } from "../../../../lib/rules/roles.ts";
import { DEFAULT_GOVERNANCE } from "../../../../lib/rules/governance.ts";
import { TurnTracker } from "../../../../lib/gateway/openclaw/turn_tracker.ts";
import type { Finding } from "../../../../lib/rules/finding.ts";

function parts(path: string, clock = new FakeClock()) {
  const seq = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e15, maxConversations: 100 });
  const rules = new RuleEngine([new SequenceRule(seq, new RoleMap({}, DEFAULT_SEQUENCE))], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: () => {},
  });
  const queue: Finding[] = [];
  const lines: string[] = [];
  const tracker = new TurnTracker();
  const persister = new StatePersister({
    path,
    rules,
    writer: { queued: () => [...queue] },
    tracker,
    logger: new Logger("json", (l) => lines.push(l)),
    clock,
  });
  return { seq, rules, queue, lines, tracker, persister, clock };
}

const pendingFinding = violationFinding({
  id: "p1",
  at: 5,
  protocol: "legacy",
  conversation: "g",
  agent: "observer",
  role: "observer",
  expected: "secondary",
  sequence: DEFAULT_SEQUENCE,
});

Deno.test("state saved by one daemon is restored by the next: rules, pending findings, turns", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  const a = parts(path);
  a.seq.observe("g", "primary", 1);
  a.queue.push(pendingFinding);
  a.tracker.caughtUpAt = 77;
  await a.persister.save();

  const b = parts(path);
  assertEquals(await b.persister.restore(), [pendingFinding]);
  assertEquals(b.seq.snapshot(), a.seq.snapshot());
  assertEquals(b.tracker.caughtUpAt, 77);
  assertEquals(b.lines, []);
});

Deno.test("a rule state that cannot be read is kept aside, that rule starts afresh, the rest is restored", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      format: 2,
      savedAt: 1,
      rules: { sequence: { sequence: DEFAULT_SEQUENCE, conversations: "oops" }, future: { x: 1 } },
      pending: [pendingFinding],
    }),
  );
  const p = parts(path, new FakeClock(9));
  assertEquals(await p.persister.restore(), [pendingFinding]);
  assertEquals(p.seq.stats().tracked, 0);
  assertStringIncludes(p.lines.join("\n"), "Cannot restore the sequence rule's state");
  const kept = JSON.parse(await Deno.readTextFile(`${path}.rejected-9`));
  assertEquals(kept[0].what, "rules.sequence");
  // The state of a rule not running now is carried over, not lost, at the next save.
  await p.persister.save();
  const saved = (await loadSnapshot(path, 0)).snapshot!;
  assertEquals(saved.rules.future, { x: 1 });
});

Deno.test("a change is saved once after the delay, not once per change", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  const p = parts(path);
  for (let i = 0; i < 50; i++) p.persister.changed();
  assertEquals(p.clock.pending, 1);
  await p.clock.tick(SAVE_DELAY_MS);
  await p.persister.save(); // waits for the scheduled one too
  assertEquals(p.persister.saves, 2);
  p.persister.stop();
});
