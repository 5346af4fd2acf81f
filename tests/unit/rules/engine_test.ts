import { assertEquals, assertThrows } from "../../support/assert.ts";
import { RuleEngine } from "../../../lib/rules/engine.ts";
import type { Rule, RuleContext } from "../../../lib/rules/rule.ts";
import type { RuleEvent, TurnEvent } from "../../../lib/rules/event.ts";
import type { Finding } from "../../../lib/rules/finding.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../../../lib/rules/governance.ts";
import { SequenceRule } from "../../../lib/rules/sequence_rule.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../../../lib/rules/sequence.ts";
import { RoleMap } from "../../../lib/rules/roles.ts";

const turn = (conversation: string, agent: string, at = 0, id?: string): TurnEvent => ({
  kind: "turn",
  protocol: "legacy",
  conversation,
  agent,
  at,
  source: "live",
  ...(id ? { id } : {}),
});

/** A rule that finds every turn of one agent: stands in for the rules to come. */
class AgentRule implements Rule {
  readonly accepts = ["turn"] as const;
  seen = 0;
  constructor(readonly id: string, readonly agent: string) {}
  evaluate(e: RuleEvent, ctx: RuleContext): Finding | undefined {
    this.seen++;
    if (e.kind !== "turn" || e.agent !== this.agent) return undefined;
    const id = e.id ?? ctx.newId();
    return {
      id,
      rule: this.id,
      action: `${this.id}_violation`,
      at: e.at,
      detail: `${this.id}: ${e.agent} answered`,
      outcome: "logged",
      agent: e.agent,
      key: this.id,
      data: { id, mode: String(ctx.governance.fields.mode) },
    };
  }
  stats() {
    return { seen: this.seen };
  }
}

function sequenceRule(): SequenceRule {
  return new SequenceRule(
    new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e9, maxConversations: 100 }),
    new RoleMap({ bob: "observer" }, DEFAULT_SEQUENCE),
  );
}

Deno.test("each event goes to every rule that takes its kind, findings in rule order, counted per rule", () => {
  const found: string[] = [];
  let n = 0;
  const engine = new RuleEngine([sequenceRule(), new AgentRule("watch", "observer")], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => found.push(`${f.rule}:${f.id}`),
    newId: () => `id${++n}`,
  });
  assertEquals(engine.handle(turn("g", "primary")), 0);
  assertEquals(engine.handle(turn("g", "observer")), 2);
  assertEquals(found, ["sequence:id1", "watch:id2"]);
  const status = engine.status();
  assertEquals(status.sequence!.evaluated, 2);
  assertEquals(status.sequence!.findings, 1);
  assertEquals(status.watch, { evaluated: 2, findings: 1, stats: { seen: 2 } });
  assertEquals(engine.findings, 2);
  assertEquals(engine.events, 2);
});

Deno.test("broadcast switches off the sequence rule only, not other rules", () => {
  const found: string[] = [];
  const broadcast: Governance = { ...DEFAULT_GOVERNANCE, broadcast: true, reason: "broadcast" };
  const engine = new RuleEngine([sequenceRule(), new AgentRule("watch", "observer")], {
    governance: () => broadcast,
    onFinding: (f) => found.push(f.rule),
  });
  engine.handle(turn("g", "observer"));
  assertEquals(found, ["watch"]);
  assertEquals(engine.status().sequence!.stats.notEnforced, 1);
});

Deno.test("a finding's id comes from its event when the event has one", () => {
  const ids: string[] = [];
  const engine = new RuleEngine([sequenceRule()], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => ids.push(f.id),
    newId: () => "random",
  });
  engine.handle(turn("g", "observer", 0, "derived-1"));
  engine.handle(turn("h", "observer", 0));
  assertEquals(ids, ["derived-1", "random"]);
});

Deno.test("a sequence finding carries detail, conversation, agent and its object under `violation`", () => {
  const found: Finding[] = [];
  const engine = new RuleEngine([sequenceRule()], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => found.push(f),
    newId: () => "v1",
  });
  engine.handle(turn("g", "primary", 1));
  engine.handle(turn("g", "Bob", 2));
  assertEquals(found, [{
    id: "v1",
    rule: "sequence",
    action: "sequence_violation",
    at: 2,
    detail: "Sequence violation in conversation g: Bob (observer) responded, expected secondary",
    outcome: "logged",
    conversation: "g",
    agent: "Bob",
    key: "violation",
    data: {
      id: "v1",
      conversation: "g",
      agent: "Bob",
      role: "observer",
      expected: "secondary",
      sequence: DEFAULT_SEQUENCE,
      protocol: "legacy",
    },
  }]);
});

Deno.test("agents outside the sequence are counted and do not disturb the order", () => {
  const found: Finding[] = [];
  const engine = new RuleEngine([sequenceRule()], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => found.push(f),
  });
  engine.handle(turn("g", "primary"));
  engine.handle(turn("g", "narrator"));
  engine.handle(turn("g", "secondary"));
  assertEquals(found, []);
  assertEquals(engine.status().sequence!.stats.unknownAgents, 1);
});

Deno.test("two rules with one id are refused", () => {
  assertThrows(
    () =>
      new RuleEngine([new AgentRule("x", "a"), new AgentRule("x", "b")], {
        governance: () => DEFAULT_GOVERNANCE,
        onFinding: () => {},
      }),
    RangeError,
    'two rules have the id "x"',
  );
});

Deno.test("the sequence rule says whether an agent answering now would be out of turn, read only", () => {
  const rule = sequenceRule();
  const gov = { governance: DEFAULT_GOVERNANCE, now: 0 };
  assertEquals(rule.outOfTurn("c", "secondary", gov), { role: "secondary", expected: "primary" });
  assertEquals(rule.outOfTurn("c", "bob", gov), { role: "observer", expected: "primary" });
  assertEquals(rule.outOfTurn("c", "primary", gov), undefined);
  assertEquals(rule.outOfTurn("c", "stranger", gov), undefined);
  const broadcast: Governance = { ...DEFAULT_GOVERNANCE, broadcast: true };
  assertEquals(rule.outOfTurn("c", "secondary", { governance: broadcast, now: 0 }), undefined);
  // Asking changed nothing: the turn is judged as if never asked about.
  const ctx = { governance: DEFAULT_GOVERNANCE, newId: () => "x" };
  assertEquals(rule.evaluate(turn("c", "primary"), ctx), undefined);
  assertEquals(rule.outOfTurn("c", "secondary", gov), undefined);
  assertEquals(rule.stats().tracked, 1);
});

Deno.test("the sequence rule leaves an answer whose run was judged at its start", () => {
  const rule = sequenceRule();
  const ctx = { governance: DEFAULT_GOVERNANCE, newId: () => "x" };
  const judged: TurnEvent = { ...turn("c", "secondary"), run: "r1", judgedAtStart: true };
  assertEquals(rule.evaluate(judged, ctx), undefined);
  assertEquals(rule.evaluate({ ...turn("c", "primary"), run: "r0" }, ctx), undefined);
  // Even in turn now, it does not count: secondary is still expected.
  assertEquals(rule.evaluate({ ...judged, at: 1 }, ctx), undefined);
  assertEquals(rule.outOfTurn("c", "observer", { governance: DEFAULT_GOVERNANCE, now: 2 }), {
    role: "observer",
    expected: "secondary",
  });
});

Deno.test("findings are counted by kind, each kind a rule declares from zero", () => {
  class Declared extends AgentRule {
    readonly actions = ["declared_violation", "never_made"];
  }
  const engine = new RuleEngine([
    new Declared("declared", "observer"),
    new AgentRule("other", "observer"),
  ], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: () => {},
  });
  assertEquals(engine.findingsByKind(), { declared_violation: 0, never_made: 0 });
  engine.handle(turn("g", "observer"));
  engine.handle(turn("h", "observer"));
  assertEquals(engine.findingsByKind(), {
    declared_violation: 2,
    never_made: 0,
    other_violation: 2,
  });
});

Deno.test("a finding made on a rule's behalf outside the engine counts as that rule's and by kind", () => {
  const engine = new RuleEngine([new AgentRule("a", "observer")], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: () => {},
  });
  const found: Finding[] = [];
  const counted = new RuleEngine([new AgentRule("a", "observer")], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => found.push(f),
  });
  counted.handle(turn("h", "observer"));
  engine.handle(turn("g", "observer"));
  const made = found[0]!;
  engine.countFor("a", made);
  engine.countFor("no such rule", made);
  assertEquals(engine.findings, 2);
  assertEquals(engine.status().a!.findings, 2);
  assertEquals(engine.findingsByKind().a_violation, 3);
});
