import { assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import { tempDir } from "../../../support/helpers.ts";
import { FakeClock } from "../../../support/fake_clock.ts";
import { violationFinding } from "../../../support/findings.ts";
import { Logger } from "../../../../lib/service/log.ts";
import {
  SAVE_DELAY_MS,
  SNAPSHOT_INTERVAL_MS,
  StatePersister,
} from "../../../../lib/service/daemon/state_persister.ts";
import { loadSnapshot } from "../../../../lib/service/snapshot.ts";
import { RuleEngine } from "../../../../lib/rules/engine.ts";
import { SequenceRule } from "../../../../lib/rules/sequence_rule.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../../../../lib/rules/sequence.ts";
import { RoleMap } from "../../../../lib/rules/roles.ts";
import { DEFAULT_GOVERNANCE } from "../../../../lib/rules/governance.ts";
import { TurnTracker } from "../../../../lib/gateway/openclaw/turn_tracker.ts";
import type { Finding } from "../../../../lib/rules/finding.ts";

function parts(path: string, clock = new FakeClock(), ttlMs?: number) {
  const seq = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: ttlMs ?? 1e15, maxConversations: 100 });
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
    pending: () => [...queue],
    tracker,
    logger: new Logger("json", (l) => lines.push(l)),
    clock,
    ...(ttlMs !== undefined ? { ttlMs } : {}),
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

Deno.test("a bad pending entry and a bad rule state are both kept aside, in one file, not one over the other", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      format: 2,
      savedAt: 1,
      rules: { sequence: { sequence: DEFAULT_SEQUENCE, conversations: [["g", "x", 1]] } },
      pending: [pendingFinding, { id: "half" }],
    }),
  );
  const p = parts(path, new FakeClock(1000));
  assertEquals(await p.persister.restore(), [pendingFinding]);
  const kept = JSON.parse(await Deno.readTextFile(`${path}.rejected-1000`));
  assertEquals(kept.map((e: { what: string }) => e.what), ["pending[1]", "rules.sequence"]);
  assertStringIncludes(p.lines.join("\n"), "2 entries of the state snapshot could not be used");
});

Deno.test("when the entries cannot be kept aside, the log says so as an error", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({ format: 2, savedAt: 1, rules: {}, pending: [{ id: "half" }] }),
  );
  // A directory where the file would go: it cannot be written.
  await Deno.mkdir(`${path}.rejected-1000.tmp`);
  const p = parts(path, new FakeClock(1000));
  assertEquals(await p.persister.restore(), []);
  const error = p.lines.map((l) => JSON.parse(l)).find((l) => l.level === "error");
  assertStringIncludes(error?.msg ?? "", "Cannot keep unreadable snapshot entries aside");
});

Deno.test("findings on their way to the writer are in the snapshot too", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  const p = parts(path);
  const waiting = [pendingFinding];
  const persister = new StatePersister({
    path,
    rules: p.rules,
    pending: function* () {
      yield* p.queue;
      yield* waiting;
    },
    logger: new Logger("json", () => {}),
    clock: p.clock,
  });
  await persister.save();
  assertEquals((await loadSnapshot(path, 0)).snapshot!.pending, [pendingFinding]);
});

Deno.test("an idle daemon saves no snapshot and keeps no timer; a change is saved, once", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  const p = parts(path);
  p.persister.start();
  for (let i = 0; i < 3_600; i++) await p.clock.tick(1_000);
  assertEquals(p.persister.saves, 0);
  assertEquals(p.clock.pending, 0);
  p.seq.observe("g", "primary", p.clock.now());
  p.persister.changed();
  await p.clock.tick(SAVE_DELAY_MS);
  await p.persister.save();
  const saves = p.persister.saves;
  // The periodic tick stops at the first one with no event, with nothing left to save.
  for (let i = 0; i < 600; i++) await p.clock.tick(1_000);
  assertEquals(p.persister.saves, saves);
  assertEquals(p.clock.pending, 0);
  p.persister.stop();
});

Deno.test("once events stop, one timer lets every conversation expire when its time is up", async () => {
  await using dir = await tempDir();
  const path = dir.join("snapshot.json");
  const ttlMs = 60 * 60_000;
  const p = parts(path, new FakeClock(), ttlMs);
  p.persister.start();
  p.seq.observe("g", "primary", p.clock.now());
  p.persister.markDirty();
  assertEquals(p.seq.stats().tracked, 1);
  await p.clock.tick(SNAPSHOT_INTERVAL_MS * 2);
  // Idle now: one timer, at the conversation's end.
  assertEquals(p.clock.pending, 1);
  await p.clock.tick(ttlMs - SNAPSHOT_INTERVAL_MS * 2);
  assertEquals(p.seq.stats().tracked, 0);
  assertEquals(p.clock.pending, 0);
  p.persister.stop();
});
