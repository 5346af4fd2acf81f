import { assert, assertEquals, assertThrows } from "../../support/assert.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import {
  canonicalJson,
  compareCodePoints,
  fastCanonicalWithout,
  parsePythonJson,
  PyFloat,
  pythonDumps,
  pythonFloatRepr,
} from "../../../lib/ledger/pyjson.ts";
import { sha256Hex } from "../../../lib/util/hash.ts";
import { python } from "../../support/helpers.ts";

// A copy of the MO§ES reference ledger vectors: entries with the canonical form and hash
// that Python's serialiser gives for them.
const VECTORS = fromFileUrl(new URL("../../fixtures/ledger-vectors.jsonl", import.meta.url));

interface Vector {
  note: string;
  entry: Record<string, unknown>;
  canonical: string;
  hash: string;
  line_as_audit_stub_writes_it: string;
}

async function vectors(): Promise<Vector[]> {
  const text = await Deno.readTextFile(VECTORS);
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

Deno.test("canonical form and hash reproduce every reference vector exactly", async () => {
  const vs = await vectors();
  assert(vs.length >= 6, "expected the reference vectors");
  for (const v of vs) {
    assertEquals(canonicalJson(v.entry), v.canonical, v.note);
    assertEquals(sha256Hex(canonicalJson(v.entry)), v.hash, v.note);
  }
});

Deno.test("the on-disk line matches audit_stub's json.dumps for every reference vector", async () => {
  for (const v of await vectors()) {
    const line = pythonDumps({ ...v.entry, hash: v.hash });
    if (hasIntegerLikeKey(v.entry)) {
      // A JS object lists integer-like keys first, so only their order on disk can differ;
      // the coordinator never writes such keys, and the hashed canonical form is unaffected.
      assertEquals(
        canonicalJson(JSON.parse(line)),
        canonicalJson(JSON.parse(v.line_as_audit_stub_writes_it)),
      );
      continue;
    }
    assertEquals(line, v.line_as_audit_stub_writes_it, v.note);
  }
});

function hasIntegerLikeKey(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v)) return v.some(hasIntegerLikeKey);
  return Object.entries(v).some(([k, x]) => /^(0|[1-9]\d*)$/.test(k) || hasIntegerLikeKey(x));
}

Deno.test("keys sort by code point, as Python sorts them, not by UTF-16 unit", () => {
  // U+FF01 sorts before U+1F600 by code point but after it by UTF-16 code unit.
  const obj = { "\u{1F600}": 1, "\uFF01": 2, "a": 3, "10": 4, "9": 5 };
  assertEquals(canonicalJson(obj), '{"10":4,"9":5,"a":3,"\uFF01":2,"\u{1F600}":1}');
  assert(compareCodePoints("\uFF01", "\u{1F600}") < 0);
  assert(compareCodePoints("\u{1F600}", "\uFF01") > 0);
  assert(compareCodePoints("ab", "abc") < 0);
});

Deno.test("canonical form escapes control characters like Python and leaves DEL and non-ASCII literal", () => {
  assertEquals(
    canonicalJson({ s: 'a"b\\c\n\r\t\b\f\u0001\u001f\u007fé' }),
    '{"s":"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u007fé"}',
  );
});

Deno.test("pythonDumps escapes every non-printable-ASCII character as lower-case \\uXXXX", () => {
  assertEquals(pythonDumps({ s: "é\u007f🚨" }), '{"s": "\\u00e9\\u007f\\ud83d\\udea8"}');
  assertEquals(
    pythonDumps({ a: [1, null, true], b: { c: "d" } }),
    '{"a": [1, null, true], "b": {"c": "d"}}',
  );
});

Deno.test("float repr matches Python's for a spread of values", async () => {
  const values = [
    0.5,
    1.0,
    -0.0,
    0.0,
    1e16,
    1e15,
    123456789012345680.0,
    0.0001,
    0.00001,
    1.5e-7,
    1e22,
    1e-300,
    3.141592653589793,
    2.5e+300,
    100.0,
    1.7976931348623157e308,
    5e-324,
    -12.75,
    0.1,
    1 / 3,
  ];
  const script = "import json,sys\nfor v in json.load(sys.stdin): print(repr(float(v)))";
  const cmd = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  });
  const child = cmd.spawn();
  const w = child.stdin.getWriter();
  // Send exact decimal strings so Python parses the same doubles.
  const exact = values.map((v) => Object.is(v, -0) ? "-0.0" : v.toExponential());
  await w.write(new TextEncoder().encode("[" + exact.join(",") + "]"));
  await w.close();
  const out = new TextDecoder().decode((await child.output()).stdout).trim().split("\n");
  values.forEach((v, i) => assertEquals(pythonFloatRepr(v), out[i], `value ${v}`));
});

Deno.test("parsing keeps Python's int/float distinction, so 1.0 re-serialises as 1.0", () => {
  const v = parsePythonJson('{"a": 1.0, "b": 1, "c": 1e2, "d": -0.0, "e": 12345678901234567890}');
  assertEquals(canonicalJson(v), '{"a":1.0,"b":1,"c":100.0,"d":-0.0,"e":12345678901234567890}');
  assert((v as Record<string, unknown>).a instanceof PyFloat);
});

Deno.test("parsing accepts Python's NaN and Infinity and re-serialises them", () => {
  const v = parsePythonJson('{"n": NaN, "i": Infinity, "m": -Infinity}');
  assertEquals(canonicalJson(v), '{"i":Infinity,"m":-Infinity,"n":NaN}');
});

Deno.test("canonical form agrees with Python on entries holding floats, big ints and odd keys", async () => {
  const lines = [
    '{"b": 1.0, "a": [1e16, 0.0001, 1e-05, 2.5], "z": {"y": 12345678901234567890, "x": -0.0}}',
    '{"\\uff01": 1, "\\ud83d\\ude00": 2, "k": "caf\\u00e9 \\u0007"}',
    '{"hash": "x", "nested": {"deep": [[[{"q": 1.5e300}]]]}}',
  ];
  const py = await python(["canonical"], lines.join("\n") + "\n");
  assertEquals(py.code, 0, py.stderr);
  const expected = py.stdout.trimEnd().split("\n");
  lines.forEach((l, i) => assertEquals(canonicalJson(parsePythonJson(l)), expected[i]));
});

Deno.test("parsing rejects what Python rejects, with the position", () => {
  assertThrows(() => parsePythonJson('{"a": 1,}'), SyntaxError, "position 8");
  assertThrows(() => parsePythonJson('{"a": "x\ny"}'), SyntaxError, "control character");
  assertThrows(() => parsePythonJson("[1] 2"), SyntaxError, "Extra data");
  assertThrows(
    () => parsePythonJson("[".repeat(2000) + "1.5" + "]".repeat(2000)),
    SyntaxError,
    "Nesting",
  );
});

Deno.test("a __proto__ key is kept as an ordinary key", () => {
  const v = parsePythonJson('{"__proto__": {"x": 1.5}, "a": 1}');
  assertEquals(canonicalJson(v), '{"__proto__":{"x":1.5},"a":1}');
});

Deno.test("the fast canonical path agrees with the exact one on every vector and takes the exact path when it must", async () => {
  for (const v of await vectors()) {
    const line = v.line_as_audit_stub_writes_it;
    const fast = fastCanonicalWithout(line, "hash");
    if (fast !== undefined) assertEquals(fast.canonical, v.canonical, v.note);
    assertEquals(canonicalJson(parsePythonJson(line)).length > 0, true);
  }
  // Numbers, integer-like keys, keys past U+D7FF and __proto__ are left to the exact path.
  for (const text of ['{"a": 1.0}', '{"10": 1, "9": 2}', '{"\\uff01": 1}', '{"__proto__": {}}']) {
    assertEquals(fastCanonicalWithout(text, "hash"), undefined, text);
  }
  assertEquals(
    fastCanonicalWithout('{"b": "x", "a": [true, null], "hash": "h"}', "hash")?.canonical,
    '{"a":[true,null],"b":"x"}',
  );
});
