/**
 * The writer's direct line builder against the generic path it replaces: for random
 * violations and governance fields, from a fixed seed, the same bytes and the same hash.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { rng } from "../../support/rng.ts";
import { python, tempDir } from "../../support/helpers.ts";
import { appendSealed, GENESIS_HASH, sealEntry } from "../../../lib/ledger/append.ts";
import type { GovernanceFields } from "../../../lib/rules/governance.ts";
import type { Finding } from "../../../lib/rules/finding.ts";
import type { SequenceFinding } from "../../../lib/rules/sequence_rule.ts";
import { findingEntry } from "../../../lib/ledger/entries.ts";
import { findingSealer } from "../../../lib/ledger/sealer.ts";
import { violationFinding } from "../../support/findings.ts";
import { PyFloat } from "../../../lib/ledger/pyjson.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";

const SEED = 0x11_4e5;
const CASES = 4_000;

class Gen {
  readonly #r: () => number;
  /** Lone surrogates too (ids are made well-formed before they reach a line; Python cannot hash them). */
  readonly #loneSurrogates: boolean;
  constructor(seed: number, loneSurrogates = true) {
    this.#r = rng(seed);
    this.#loneSurrogates = loneSurrogates;
  }
  int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  // Units that JSON, Python's json.dumps and the canonical form treat differently.
  string(): string {
    const pieces = [
      "a",
      "Z",
      "7",
      " ",
      '"',
      "\\",
      "/",
      "\n",
      "\t",
      "\u0000",
      "\u001f",
      "\u007f",
      "\u0080",
      "é",
      "€",
      "\u2028",
      "\ud7ff",
      "\ue000",
      "\uffff",
      "😀",
      "\ud800",
      "\udfff",
      "primary",
      "conv-",
    ];
    let s = "";
    for (let n = this.int(8); n > 0; n--) s += this.pick(pieces);
    return this.#loneSurrogates ? s : s.toWellFormed();
  }
  // Governance fields come from state.json: any JSON value, Python's number model included.
  value(depth = 0): unknown {
    switch (this.int(depth > 1 ? 7 : 9)) {
      case 0:
        return null;
      case 1:
        return depth === 0 ? undefined : null; // a missing field; JSON has no undefined inside
      case 2:
        return this.string();
      case 3:
        return this.pick([0, -1, 42, 2 ** 53 + 2, -0]);
      case 4:
        return new PyFloat(this.pick([1, 0.1, -2.5e-7, 1e16, NaN, Infinity]));
      case 5:
        return this.pick([true, false]);
      case 6:
        return BigInt("123456789012345678901234567890");
      case 7:
        return Array.from({ length: this.int(3) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let n = this.int(4); n > 0; n--) {
          o[this.pick(["b", "a", "é", "10", "😀", "z"])] = this.value(depth + 1);
        }
        return o;
      }
    }
  }
  governance(): GovernanceFields {
    return {
      mode: this.value(),
      posture: this.value(),
      role: this.value(),
      session_hash: this.value(),
    };
  }
  violation(sequence: readonly string[]): SequenceFinding {
    return violationFinding({
      id: this.string(),
      at: 1_795_000_000_000 + this.int(10_000_000_000) + this.int(1000) / 1000,
      protocol: this.pick(["legacy", "openclaw"] as const),
      conversation: this.string(),
      agent: this.string(),
      role: this.string(),
      expected: this.string(),
      sequence: this.int(4) === 0 ? [this.string(), this.string()] : sequence,
    });
  }
}

Deno.test("a violation's direct line and hash equal the generic entry's, for random fields", () => {
  const gen = new Gen(SEED);
  const sequence = ["primary", "secondary", "observer"];
  let nonAscii = 0;
  for (let i = 0; i < CASES; i += 8) {
    const gov = gen.governance();
    const seal = findingSealer(gov);
    let previous = i % 16 === 0 ? GENESIS_HASH : gen.string();
    for (let j = 0; j < 8; j++) {
      const v = gen.violation(sequence);
      const expected = sealEntry(findingEntry(v, gov), previous);
      const actual = seal(v)(previous);
      assertEquals(actual.line, expected.line, `case ${i + j}`);
      assertEquals(actual.hash, expected.hash, `case ${i + j}`);
      if (/\\u/.test(actual.line)) nonAscii++;
      previous = actual.hash;
    }
  }
  // The generator reaches the escaping paths, not only plain ASCII.
  assert(nonAscii > CASES / 2, `only ${nonAscii} lines needed escapes`);
});

Deno.test("a sequence finding of unexpected shape, or with more than the rule's fields, takes the generic path", () => {
  const gov = DEFAULT_GOVERNANCE.fields;
  const base = violationFinding({
    id: "x",
    at: 1_795_000_000_000,
    protocol: "legacy",
    conversation: "c",
    agent: "a",
    role: "primary",
    expected: "secondary",
    sequence: ["primary", "secondary"],
  });
  const cases: [Finding, string][] = [
    [{ ...base, data: { ...base.data, sequence: ["primary", 2] } } as Finding, '["primary", 2]'],
    [{ ...base, data: { ...base.data, replay: { line: 3 } } }, '"replay": {"line": 3}'],
    [{ ...base, outcome: "blocked_and_logged" }, '"outcome": "blocked_and_logged"'],
    [{ ...base, action: "sequence_blocked" }, '"action": "sequence_blocked"'],
  ];
  for (const [odd, marker] of cases) {
    const expected = sealEntry(findingEntry(odd, gov), GENESIS_HASH);
    const actual = findingSealer(gov)(odd)(GENESIS_HASH);
    assertEquals([actual.hash, actual.line], [expected.hash, expected.line]);
    assert(actual.line.includes(marker), actual.line);
  }
});

Deno.test("lines the writer builds directly verify with the Python reference implementation", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const gen = new Gen(SEED + 1, false);
  for (let group = 0; group < 5; group++) {
    const seal = findingSealer(gen.governance());
    const sealers = Array.from(
      { length: 40 },
      () => seal(gen.violation(["primary", "secondary"])),
    );
    await appendSealed(path, sealers);
  }
  const out = await python(["verify", path]);
  assertEquals(out.stdout.trim(), "OK 200", out.stderr);
});
