import { assertEquals } from "../../../support/assert.ts";
import { tfidfTerms, wordSet } from "../../../../lib/rules/drift/mod.ts";

// Expected values are what Python 3.11 gave for re.findall(r"(?u)\b\w\w+\b", s.lower()) (then
// scikit-learn's stop words dropped) and for set(s.lower().split()).
Deno.test("tfidfTerms: Python's lower case and Unicode \\w, marks are not word characters", () => {
  assertEquals(tfidfTerms("İstanbul Straße ΟΔΟΣ"), ["stanbul", "straße", "οδος"]);
  assertEquals(tfidfTerms("café naïve coöperate"), ["café", "naïve", "coöperate"]);
  assertEquals(tfidfTerms("e\u0301cole resume\u0301"), ["cole", "resume"]);
  assertEquals(tfidfTerms("東京 データ 中文文本"), ["東京", "データ", "中文文本"]);
});

Deno.test("tfidfTerms: two or more word characters, digits and underscore count, code points", () => {
  assertEquals(tfidfTerms("a1 b_ _x x"), ["a1", "b_", "_x"]);
  assertEquals(tfidfTerms("𝐀𝐁 𝐀 x²y ½½"), ["𝐀𝐁", "x²y", "½½"]);
  assertEquals(tfidfTerms("snake_case CamelCase it's don’t"), ["snake_case", "camelcase", "don"]);
  assertEquals(tfidfTerms("hello\u200bworld"), ["hello", "world"]);
  assertEquals(tfidfTerms("3.14 2026-12-01 v2"), ["14", "2026", "12", "01", "v2"]);
});

Deno.test("tfidfTerms: stop words are dropped after lower-casing", () => {
  assertEquals(tfidfTerms("the and THIRD system Ledger"), ["ledger"]);
});

Deno.test("wordSet: Python's split() on Unicode whitespace, not U+200B or U+FEFF", () => {
  assertEquals(
    [...wordSet("a\u00a0b\u2003c\x1cd\u200be\ufeffF")].sort(),
    ["a", "b", "c", "d\u200be\ufefff"],
  );
  assertEquals([...wordSet("  A a\tB\n\x85c\u3000")].sort(), ["a", "b", "c"]);
});
