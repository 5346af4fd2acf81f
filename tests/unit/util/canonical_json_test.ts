import { assertEquals } from "../../support/assert.ts";
import { canonicalJson } from "../../../lib/util/canonical_json.ts";

Deno.test("the order of keys does not change the text: keys are sorted, no spaces", () => {
  assertEquals(canonicalJson({ b: 1, a: "x", c: null }), '{"a":"x","b":1,"c":null}');
  assertEquals(canonicalJson({ c: null, a: "x", b: 1 }), canonicalJson({ b: 1, a: "x", c: null }));
});

Deno.test("nested objects are sorted at every level", () => {
  const one = { z: { y: 1, x: { b: 2, a: 1 } }, a: [] };
  const two = { a: [], z: { x: { a: 1, b: 2 }, y: 1 } };
  assertEquals(canonicalJson(one), '{"a":[],"z":{"x":{"a":1,"b":2},"y":1}}');
  assertEquals(canonicalJson(one), canonicalJson(two));
});

Deno.test("arrays keep their order, and their objects are sorted", () => {
  assertEquals(canonicalJson([3, 1, { b: 1, a: 2 }]), '[3,1,{"a":2,"b":1}]');
  assertEquals(canonicalJson([1, 2]) === canonicalJson([2, 1]), false);
});

Deno.test("undefined fields are left out; undefined in an array or at the top is null", () => {
  assertEquals(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  assertEquals(canonicalJson({ a: undefined, b: 1 }), canonicalJson({ b: 1 }));
  assertEquals(canonicalJson([undefined, 1]), "[null,1]");
  assertEquals(canonicalJson(undefined), "null");
});

Deno.test("scalars and strings are written as JSON writes them", () => {
  assertEquals(canonicalJson('a"b\n'), '"a\\"b\\n"');
  assertEquals(canonicalJson(1.5), "1.5");
  assertEquals(canonicalJson(true), "true");
  assertEquals(canonicalJson(null), "null");
  assertEquals(canonicalJson({ "é": "ü", "a b": 1 }), '{"a b":1,"é":"ü"}');
});
