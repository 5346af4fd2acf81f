import { assert, assertEquals } from "../../../support/assert.ts";
import {
  driftLevel,
  ENGLISH_STOP_WORDS,
  jaccardDrift,
  pyRound2,
  tfidfDrift,
} from "../../../../lib/rules/drift/mod.ts";

interface Vector {
  history: string[];
  message: string;
  tfidf: number;
  jaccard: number;
  level: string;
}

const VECTORS: Vector[] = Deno.readTextFileSync(
  new URL("../../../fixtures/drift-vectors.jsonl", import.meta.url),
).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

Deno.test("every drift vector: TF-IDF and Jaccard scores to two decimals, and the level", () => {
  assertEquals(VECTORS.length, 120);
  for (const [i, v] of VECTORS.entries()) {
    assertEquals(tfidfDrift(v.message, v.history), v.tfidf, `vector ${i + 1}: tfidf`);
    assertEquals(jaccardDrift(v.message, v.history), v.jaccard, `vector ${i + 1}: jaccard`);
    assertEquals(driftLevel(v.tfidf), v.level, `vector ${i + 1}: level`);
  }
});

Deno.test("the vectors cover what the scorer must get right", () => {
  // Without these the test above would prove less than it claims.
  assert(VECTORS.some((v) => v.history.length === 0), "an empty history (the baseline)");
  assert(VECTORS.some((v) => v.tfidf === 0 && v.message.trim() !== ""), "all stop words");
  for (const level of ["green", "yellow", "orange", "red"]) {
    assert(VECTORS.some((v) => v.level === level), `a ${level} case`);
  }
});

Deno.test("the stop words are scikit-learn's 318", () => {
  assertEquals(ENGLISH_STOP_WORDS.size, 318);
  for (const w of ["a", "amoungst", "third", "system", "bill", "fire", "yourselves", "would"]) {
    assert(ENGLISH_STOP_WORDS.has(w), w);
  }
  for (const w of ["audit", "ledger", "the ", "The", "doing", "didn", "shall", "ok"]) {
    assert(!ENGLISH_STOP_WORDS.has(w), w);
  }
});

Deno.test("pyRound2 rounds as Python's round(x, 2): the exact double, ties to even", () => {
  // Each pair is [x, round(x, 2)] as Python 3.11 printed them.
  const cases: [number, number][] = [
    [0.125, 0.12],
    [0.375, 0.38],
    [0.625, 0.62],
    [0.875, 0.88],
    [2.675, 2.67],
    [8.345, 8.35],
    [12.5, 12.5],
    [37.125, 37.12],
    [99.995, 100],
    [1.005, 1],
    [39.995, 39.99],
    [45.455, 45.45],
  ];
  for (const [x, want] of cases) assertEquals(pyRound2(x), want, String(x));
});

Deno.test("levels by commitment.py's thresholds", () => {
  assertEquals([0, 4.99, 5, 19.99, 20, 39.99, 40, 100].map(driftLevel), [
    "green",
    "green",
    "yellow",
    "yellow",
    "orange",
    "orange",
    "red",
    "red",
  ]);
});

Deno.test("edge cases: baseline history, nothing but stop words, both empty", () => {
  assertEquals(tfidfDrift("the and of", ["it was"]), 0, "empty vocabulary");
  assertEquals(jaccardDrift("", [""]), 0, "both empty");
  // An exact match may come out as -0, as in Python (vector 89): the same two decimals.
  assert(tfidfDrift("initial commitment baseline", []) === 0, "the default history");
  assertEquals(jaccardDrift("INITIAL commitment BASELINE", []), 0);
  assertEquals(tfidfDrift("ledger audit", ["the and"]), 100, "a history of stop words only");
});
