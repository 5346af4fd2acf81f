/**
 * Random frames, from a fixed seed, through the same decoding and rule `run` uses. Every
 * frame is counted exactly once, nothing throws, state stays bounded, and the violations
 * are exactly those a plain reading of the seed's rule gives for the well-formed frames.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { RoleMap } from "../../../lib/rules/roles.ts";
import { RuleEngine } from "../../../lib/rules/engine.ts";
import { type SequenceFinding, SequenceRule } from "../../../lib/rules/sequence_rule.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";
import { FrameIntake } from "../../../lib/gateway/intake.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../../../lib/rules/sequence.ts";
import { parseFrame, turnFromEvent } from "../../../lib/gateway/openclaw/protocol.ts";
import { rng } from "../../support/rng.ts";

const SEED = 0x5eed_c0de;
const CASES = 20_000;

/** Random frames of every kind a broken or hostile gateway might send. */
class Frames {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = rng(seed);
  }
  int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  string(): string {
    const alphabets = ["abc", "Primary SECONDARY observer", '\u0000\n\t"\\', "\ud800é𝄞\u2028"];
    const a = this.pick(alphabets);
    let s = "";
    for (let i = this.int(12); i > 0; i--) s += a[this.int(a.length)];
    return s;
  }
  value(depth = 0): unknown {
    switch (this.int(depth > 3 ? 5 : 8)) {
      case 0:
        return null;
      case 1:
        return this.#r() < 0.5;
      case 2:
        return this.pick([0, -1, 1e308, 3.5, 2 ** 53 + 1]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(4); i > 0; i--) {
          o[this.pick(["type", "session_id", "agent", "event", "payload", this.string()])] = this
            .value(depth + 1);
        }
        return o;
      }
    }
  }
  /** A well-formed legacy frame: its conversation and agent, for the reference rule. */
  legacy(): { text: string; conversation: string; agent: string } {
    const conversation = `c${this.int(50)}`;
    const agent = this.pick(["primary", "secondary", "observer", " Observer ", "PRIMARY", "bob"]);
    return {
      text: JSON.stringify({ type: "session_update", session_id: conversation, agent }),
      conversation,
      agent,
    };
  }
  /** A frame that is not a well-formed legacy frame. */
  junk(): string {
    switch (this.int(8)) {
      case 0: // not JSON: a valid frame cut short, or noise
        return this.legacy().text.slice(0, this.int(40));
      case 1:
        return this.string();
      case 2: // deep nesting
        return "[".repeat(1 + this.int(20_000)) + "]".repeat(this.int(3));
      case 3: {
        const d = 1 + this.int(5_000);
        return '{"a":'.repeat(d) + "1" + "}".repeat(d);
      }
      case 4: // the right type with fields of the wrong types or missing
        return JSON.stringify({
          type: "session_update",
          session_id: this.pick([null, 5.5, [], {}, "", undefined]),
          agent: this.value(),
        });
      case 5: // OpenClaw-shaped events
        return JSON.stringify({
          type: "event",
          event: this.pick(["chat", "session.message", "tick", "health", this.string()]),
          payload: this.value(),
        });
      case 6: // over the size limit
        return JSON.stringify({ type: "session_update", session_id: "x".repeat(1 << 20) });
      default:
        return JSON.stringify(this.value());
    }
  }
}

/**
 * The seed's rule as the original coordinator states it, written plainly for comparison: the
 * role one past the last accepted may answer, and primary may always open a cycle.
 */
function referenceRule(frames: { conversation: string; agent: string }[]): string[] {
  const seq = ["primary", "secondary", "observer"];
  const last = new Map<string, number>();
  const out: string[] = [];
  for (const { conversation, agent } of frames) {
    const i = seq.indexOf(agent.trim().toLowerCase());
    if (i < 0) continue;
    const l = last.get(conversation) ?? -1;
    if (i !== l + 1 && i !== 0) {
      out.push(`${conversation}:${seq[i]}:${seq[l + 1 >= seq.length ? 0 : l + 1]}`);
      continue;
    }
    last.set(conversation, i === seq.length - 1 ? -1 : i);
  }
  return out;
}

function runLegacy(seed: number) {
  const gen = new Frames(seed);
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, { ttlMs: 1e12, maxConversations: 1_000 });
  const violations: string[] = [];
  const rules = new RuleEngine([new SequenceRule(engine, new RoleMap({}, DEFAULT_SEQUENCE))], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: (f) => {
      const v = (f as SequenceFinding).data;
      violations.push(`${v.conversation}:${v.role}:${v.expected}`);
    },
  });
  const intake = new FrameIntake({ onEvent: (e) => rules.handle(e) });
  const wellFormed: { conversation: string; agent: string }[] = [];
  for (let i = 0; i < CASES; i++) {
    let text: string;
    if (gen.int(3) === 0) {
      const f = gen.legacy();
      wellFormed.push(f);
      text = f.text;
    } else {
      text = gen.junk();
    }
    intake.handleText(text, i);
  }
  return { intake, engine, wellFormed, violations };
}

Deno.test("random frames never throw, are each counted once, and give exactly the rule's violations", () => {
  const { intake, engine, wellFormed, violations } = runLegacy(SEED);
  const c = intake.counters;
  assertEquals(c.frames, CASES);
  const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0);
  assertEquals(c.events + skipped, CASES, JSON.stringify(c));
  for (const reason of ["not_json", "not_object", "other_type", "bad_type", "too_large"]) {
    assert(c.skipped[reason as keyof typeof c.skipped] > 0, `no ${reason} frame was generated`);
  }
  assertEquals(violations, referenceRule(wellFormed));
  assert(violations.length > 100, `only ${violations.length} violations`);
  assert(engine.stats().tracked <= 1_000);
});

Deno.test("random OpenClaw frames and event payloads never throw and are classified", () => {
  const gen = new Frames(SEED + 1);
  const kinds: Record<string, number> = {};
  for (let i = 0; i < CASES; i++) {
    const text = gen.int(2) === 0
      ? JSON.stringify({
        type: "event",
        event: gen.pick(["chat", "session.message"]),
        payload: {
          sessionKey: gen.pick(["agent:main:g", "agent::", "x", gen.value()]),
          state: gen.pick(["final", "delta", gen.value()]),
          runId: gen.pick(["r1", "", gen.value()]),
          message: gen.pick([{ role: "assistant", __openclaw: gen.value() }, gen.value()]),
        },
      })
      : gen.junk();
    const f = parseFrame(text);
    kinds[f.type] = (kinds[f.type] ?? 0) + 1;
    if (f.type === "event") {
      const t = turnFromEvent(f, gen.pick(["rest", "session"] as const));
      if (typeof t === "object") {
        kinds.turn = (kinds.turn ?? 0) + 1;
        assert(typeof t.conversation === "string" && t.conversation !== "");
        assert(typeof t.agentId === "string" && t.agentId !== "");
      } else {
        assert(["bad_type", "not_a_turn", "no_conversation"].includes(t), t);
        kinds[t] = (kinds[t] ?? 0) + 1;
      }
    }
  }
  assertEquals((kinds.event ?? 0) + (kinds.invalid ?? 0) + (kinds.res ?? 0), CASES);
  for (const k of ["event", "invalid", "bad_type", "not_a_turn", "no_conversation", "turn"]) {
    assert((kinds[k] ?? 0) > 20, `too few ${k}: ${JSON.stringify(kinds)}`);
  }
});
