import { assert, assertEquals } from "../../support/assert.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { LineScanner } from "../../../lib/ledger/_scan.ts";
import { BatchHasher } from "../../../lib/ledger/_batch_hasher.ts";
import { ChainChecker, type Problem } from "../../../lib/ledger/chain.ts";
import {
  canonicalJsonWithout,
  parsePythonJson,
  pythonDumps,
  pythonFloatRepr,
} from "../../../lib/ledger/pyjson.ts";
import { sha256Hex } from "../../../lib/util/hash.ts";
import { rng } from "../../support/rng.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// The exact path's canonical form of a line without its hash, or undefined where the
// line is not a JSON object Python reads.
function exact(line: string): string | undefined {
  let value;
  try {
    value = parsePythonJson(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return canonicalJsonWithout(value as Record<string, unknown>, "hash");
}

// Scanners whose lines are read in a hasher's memory, and their strings by its stop function.
const inMemory = new Map<LineScanner, { buffer: Uint8Array; hasher: BatchHasher }>();

/** A scanner that reads its lines, as verify's do, in a read buffer of a hasher's memory. */
function memoryScanner(): LineScanner {
  const hasher = new BatchHasher({ readBufferBytes: 1 << 16 });
  const scanner = new LineScanner({ ops: hasher.ops, stop: hasher.stop });
  inMemory.set(scanner, { buffer: hasher.readBuffers()[1], hasher });
  return scanner;
}

/**
 * Scans `line` (padded on both sides, as inside a block, and in the hasher's memory for a
 * {@link memoryScanner}); the canonical text, or undefined if refused. For a memory scanner
 * with a stated hash, the hasher's `emit` must hash what `canonical()` gives.
 */
function fast(scanner: LineScanner, line: string): string | undefined {
  let bytes: Uint8Array = enc.encode(`{"x": 1}\n${line}\n{"y": 2}`);
  const memory = inMemory.get(scanner);
  if (memory !== undefined) {
    const { buffer } = memory;
    // At the end of the buffer: the stop function reads past the block.
    buffer.set(bytes, buffer.length - bytes.length);
    bytes = buffer.subarray(buffer.length - bytes.length);
  }
  const start = enc.encode('{"x": 1}\n').length;
  const end = scanner.scan(bytes, start, bytes.length);
  if (end < 0) return undefined;
  // A line taken ends at its newline.
  assertEquals(end, start + enc.encode(line).length, line);
  const canonical = scanner.canonical();
  if (memory !== undefined && scanner.hashStart >= 0) {
    const stated = dec.decode(scanner.src.subarray(scanner.hashStart, scanner.hashEnd));
    let computed = stated;
    memory.hasher.onMismatch = (_line, _stated, hash) => computed = hash;
    memory.hasher.addScanned(1, scanner);
    memory.hasher.flush();
    assertEquals(computed, sha256Hex(canonical), line);
  }
  return dec.decode(canonical);
}

const VECTORS = fromFileUrl(new URL("../../fixtures/ledger-vectors.jsonl", import.meta.url));

Deno.test("the scanner gives the exact canonical form and hash of every reference vector it takes", async () => {
  const scanner = new LineScanner();
  const text = await Deno.readTextFile(VECTORS);
  let taken = 0;
  for (const l of text.split("\n").filter((l) => l.trim())) {
    const v = JSON.parse(l);
    const line: string = v.line_as_audit_stub_writes_it;
    const got = fast(scanner, line);
    if (got === undefined) continue;
    taken++;
    assertEquals(got, v.canonical, v.note);
    assertEquals(got, exact(line), v.note);
    assertEquals(sha256Hex(scanner.canonical()), v.hash, v.note);
  }
  // The plain ASCII vector at least is the scanner's to take.
  assert(taken >= 1, "the scanner took no reference vector");
});

Deno.test("the scanner refuses what copying raw text would get wrong", () => {
  const scanner = new LineScanner();
  const refused = [
    '{"a": 1.0}', // a float: Python's repr may differ from the text
    '{"a": 1e5}',
    '{"a": 10E2}',
    '{"a": -0}', // the int 0
    '{"a": NaN}',
    '{"a": -Infinity}',
    '{"a": "x\\/y"}', // Python writes "/"
    '{"a": "\\u00e9"}', // Python writes the character itself
    '{"a": "\\u0041"}',
    '{"a": "\\u001F"}', // Python writes lower-case hex
    '{"a": "\\u000a"}', // Python writes \\n
    '{"a": "\\ud83d\\ude00"}',
    '{"a": "\\ud800"}', // a lone surrogate
    '{"a": "é"}', // not ASCII
    '{"a": "tab\there"}', // a raw control character is not JSON
    '{"a": 1, "a": 2}', // a repeated key
    '{"b": {"c": 1, "c": 2}}',
    '{"1": "x", "a": 2}', // an integer-like top-level key
    '{"k\\"ey": 1}', // a key with an escape
    '{"hash": 5}', // a hash that is not a string
    '{"hash": "ab\\n"}',
    '{"previous_hash": null, "hash": "x"}',
    '{"prev_hash": 7}',
    '{"v": {"id": "a\\"b"}}', // an id with an escape
    '{"a": 01}',
    '{"a": tru}',
    '{"a": "x"} x',
    '{"a": "x"',
    '{"a": [1, 2,]}',
    '{"a" 1}',
    "[1, 2]",
    '"text"',
    "",
    "\ufeff{}",
    "[".repeat(40) + "]".repeat(40),
    '{"a": ' + "[".repeat(40) + "]".repeat(40) + "}",
  ];
  const memory = memoryScanner();
  for (const line of refused) {
    assertEquals(fast(scanner, line), undefined, line);
    assertEquals(fast(memory, line), undefined, line);
  }
});

Deno.test("a line that needs more ops than the scanner has room for is refused, at the top level and set aside alike", () => {
  // 60 words: ten ops in each half.
  const small = new LineScanner({ ops: new Int32Array(60) });
  const large = new LineScanner();
  const members = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}": ${i}`).join(", ");
  // n members take 2n ops and the closing brace one: 4 fit in 10, 6 do not.
  for (
    const [line, fits] of [
      [`{${members(4)}}`, true],
      [`{${members(6)}}`, false],
      [`{"a": {${members(4)}}}`, true],
      [`{"a": {${members(6)}}}`, false],
      [`{"a": [${Array.from({ length: 12 }, (_, i) => i).join(", ")}]}`, false],
    ] as const
  ) {
    assertEquals(fast(small, line) !== undefined, fits, line);
    assertEquals(fast(large, line), exact(line), line);
  }
});

Deno.test("the scanner takes plain lines, whatever their spacing and key order", () => {
  const scanner = new LineScanner();
  const taken = [
    "{}",
    '  {"b": 1, "a": [true, false, null, -12, 0, 123456789012345678901234567890]}\r ',
    '{"z":{"y":{"x":[{"b":"q\\"\\\\\\b\\f\\n\\r\\t\\u001f\\u0000"},[]],"w":{}}},"hash":"h"}',
    '{"timestamp": "t", "previous_hash": "p", "prev_hash": "q", "violation": {"id": "i"}}',
    '{"a":"\x7f"}',
  ];
  const memory = memoryScanner();
  for (const line of taken) {
    const got = fast(scanner, line);
    assert(got !== undefined, `refused: ${line}`);
    assertEquals(got, exact(line), line);
    assertEquals(fast(memory, line), got, line);
  }
  // The link is previous_hash over prev_hash, and the id of each top-level object.
  fast(scanner, taken[3]!);
  const src = scanner.src;
  assertEquals(dec.decode(src.subarray(scanner.linkStart, scanner.linkEnd)), "p");
  assertEquals(scanner.hashStart, -1);
  assertEquals(scanner.idCount, 1);
  assertEquals(dec.decode(src.subarray(scanner.ids[0], scanner.ids[1])), "violation");
  assertEquals(dec.decode(src.subarray(scanner.ids[2], scanner.ids[3])), "i");
});

// --- A seeded fuzzer: random entries written in several ways, fast against exact. ---

const KEYS = [
  "a",
  "b",
  "ab",
  "B",
  "id",
  "hash",
  "previous_hash",
  "prev_hash",
  "violation",
  "_x",
  "10",
  "0",
  "é",
  "\u{1f600}",
  "\uffff",
  'k"q',
  "",
];
const STRINGS = [
  "",
  "plain",
  "with space",
  'quote"',
  "back\\slash",
  "slash/",
  "nl\n",
  "tab\t",
  "\b\f\r",
  "\u0000\u001f",
  "\x7f",
  "é",
  "\u2028",
  "\u{1f600}",
  "\ud800",
  "\udfff",
  "0".repeat(64),
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

// A JSON text (not a value): the fuzzer writes it itself, to vary spacing and escapes.
function genValue(r: () => number, depth: number): string {
  const k = r();
  if (depth < 4 && k < 0.15) return genObject(r, depth + 1, false);
  if (depth < 4 && k < 0.25) {
    const n = Math.floor(r() * 4);
    return "[" + Array.from({ length: n }, () => genValue(r, depth + 1)).join(pick(r, SEPS)) + "]";
  }
  if (k < 0.6) return genString(r, pick(r, STRINGS));
  if (k < 0.7) return pick(r, ["true", "false", "null"]);
  if (k < 0.85) {
    return pick(r, ["0", "-1", "42", "-0", "9007199254740993", "123456789012345678901234567890"]);
  }
  const x = pick(r, [0.1, 1, -2.5, 1e16, 1e-7, 123.456, 5e-324, 1.7976931348623157e308]);
  return pick(r, [String(x), pythonFloatRepr(x), "1.0", "1E5", "-0.0", "NaN", "Infinity"]);
}

const SEPS = [",", ", ", " , ", ",\t"];

const SHORT: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "/": "\\/",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function genString(r: () => number, s: string): string {
  const style = r();
  if (style < 0.4) return pythonDumps(s); // as audit_stub writes it: non-ASCII escaped
  if (style < 0.8) return JSON.stringify(s); // raw non-ASCII, lone surrogates escaped
  // Hand-written escapes: some that Python writes back unchanged, some it does not.
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const short = SHORT[ch];
    if (short !== undefined && r() < 0.5) {
      out += short;
    } else if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x2f || r() < 0.1) {
      const hex = c > 0xffff ? undefined : c.toString(16).padStart(4, "0");
      out += hex === undefined ? ch : `\\u${r() < 0.5 ? hex : hex.toUpperCase()}`;
    } else {
      out += ch;
    }
  }
  return out + '"';
}

function genObject(r: () => number, depth: number, top: boolean): string {
  const n = Math.floor(r() * (top ? 12 : 5));
  const members: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = r() < 0.85 ? pick(r, KEYS) : `k${Math.floor(r() * 30)}`;
    let value = genValue(r, depth);
    if (key === "hash" || key.endsWith("prev_hash") || key === "previous_hash") {
      value = r() < 0.8 ? JSON.stringify(pick(r, ["0".repeat(64), "GENESIS", "abc"])) : value;
    }
    if (key === "violation" && r() < 0.7) value = `{"id": ${genString(r, pick(r, STRINGS))}}`;
    members.push(genString(r, key) + pick(r, [":", ": ", " : "]) + value);
  }
  return "{" + pick(r, ["", " "]) + members.join(pick(r, SEPS)) + "}";
}

Deno.test("on fuzzed lines the scanner either refuses or gives exactly the exact path's form, in a hasher's memory too", () => {
  const r = rng(0x5eed);
  const own = new LineScanner();
  const memory = memoryScanner();
  let taken = 0;
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const line = genObject(r, 0, true);
    const want = exact(line);
    // Each line is read by one scanner, then the other: both must agree with the exact path.
    const scanner = i % 2 === 0 ? own : memory;
    const got = fast(scanner, line);
    assertEquals(fast(i % 2 === 0 ? memory : own, line), got, line);
    fast(scanner, line);
    if (got === undefined) {
      refused++;
      continue;
    }
    taken++;
    assertEquals(got, want, line);
    const entry = parsePythonJson(line) as Record<string, unknown>;
    const span = (s: number, e: number) =>
      s < 0 ? undefined : dec.decode(scanner.src.subarray(s, e));
    assertEquals(span(scanner.hashStart, scanner.hashEnd), entry.hash, line);
    const link = "previous_hash" in entry ? entry.previous_hash : entry.prev_hash;
    assertEquals(span(scanner.linkStart, scanner.linkEnd), link, line);
    const ids: string[] = [];
    for (const field in entry) {
      const v = entry[field];
      const id = typeof v === "object" && v !== null ? (v as { id?: unknown }).id : undefined;
      if (typeof id === "string") ids.push(`${field}=${id}`);
    }
    const seen: string[] = [];
    for (let k = 0; k < scanner.idCount * 4; k += 4) {
      const ix = scanner.ids;
      seen.push(`${span(ix[k]!, ix[k + 1]!)}=${span(ix[k + 2]!, ix[k + 3]!)}`);
    }
    assertEquals(seen, ids, line);
  }
  // Both paths must have been exercised for the comparison to mean something.
  assert(taken > 2_000, `only ${taken} lines taken`);
  assert(refused > 2_000, `only ${refused} lines refused`);
});

// A chain of lines, some only the exact path takes, some with problems.
function chainLines(): string[] {
  const lines: string[] = [];
  let prev = "0".repeat(64);
  const seal = (body: Record<string, unknown>, tail = "") => {
    const entry = { ...body, previous_hash: prev };
    const hash = sha256Hex(canonicalJsonWithout(entry, "hash"));
    prev = hash;
    lines.push(pythonDumps({ ...entry, hash }).slice(0, -1) + tail + "}");
  };
  seal({ detail: "one", violation: { id: "v1" } });
  seal({ detail: "float", n: 1.5, violation: { id: "v2" } }); // exact path only
  seal({ detail: "three", violation: { id: "v1" } }); // v1 again
  seal({ detail: "é", other: { id: "v2" } }); // exact path; v2 under another field
  seal({ detail: "five", violation: { id: "v2" } }); // v2 again
  lines.push(lines[0]!.replace('"one"', '"changed"')); // a hash mismatch and a broken link
  seal({ detail: "seven" });
  lines.push('{"detail": "no hash", "previous_hash": "x"}');
  lines.push('{"detail": "lineage", "prev_hash": "GENESIS", "hash": "h"}');
  lines.push('{"hash": "y", "previous_hash": "h", "violation": {"id": "v1"}}');
  return lines;
}

function report(lines: string[], scanner: LineScanner | undefined) {
  const checker = new ChainChecker({ midChain: true });
  lines.forEach((line, i) => {
    const bytes = enc.encode(line);
    if (scanner !== undefined && scanner.scan(bytes, 0, bytes.length) >= 0) {
      checker.checkScanned(i + 1, scanner);
    } else checker.check(i + 1, line);
  });
  return {
    problems: checker.problems as Problem[],
    notes: checker.notes,
    head: checker.head,
    entries: checker.entries,
    firstEntry: checker.firstEntry,
    duplicates: [...checker.ids.duplicates.values()],
    duplicateCount: checker.ids.duplicateCount,
    ids: [...checker.ids.table.list()],
  };
}

Deno.test("checking scanned lines reports exactly what checking their text does", () => {
  const lines = chainLines();
  const scanner = new LineScanner();
  const scanned = lines.filter((l) => {
    const b = enc.encode(l);
    return scanner.scan(b, 0, b.length) >= 0;
  }).length;
  assert(scanned >= 5 && scanned < lines.length, `${scanned} of ${lines.length} lines scanned`);
  const want = report(lines, undefined);
  assertEquals(report(lines, new LineScanner()), want);
  assert(want.problems.length >= 4, "expected problems in the chain");
  assertEquals(want.duplicateCount, 2);
});

Deno.test("hash checks left to a queue and reported late give the same problems, in line order and capped alike", () => {
  // Lines the scanner takes, many of them with a wrong hash or a broken link, and some it
  // does not take.
  const lines: string[] = [];
  let prev = "0".repeat(64);
  for (let i = 0; i < 40; i++) {
    const entry = { detail: `line ${i}`, previous_hash: i % 7 === 3 ? "f".repeat(64) : prev };
    const hash = sha256Hex(canonicalJsonWithout(entry, "hash"));
    prev = i % 5 === 1 ? "e".repeat(64) : hash;
    lines.push(pythonDumps({ ...entry, hash: prev }));
    // Between them, lines the queue does not see: no hash, not JSON, the exact path.
    if (i % 11 === 4) lines.push(`{"detail": "no hash", "previous_hash": "${prev}"}`);
    // A line cut short: the next one's link cannot be judged.
    if (i % 13 === 6) lines[lines.length - 1] = lines.at(-1)!.slice(0, 30);
    if (i % 9 === 2) {
      const exactOnly = { detail: "float", n: 1.5, previous_hash: prev };
      prev = sha256Hex(canonicalJsonWithout(exactOnly, "hash"));
      lines.push(pythonDumps({ ...exactOnly, hash: prev }));
    }
    // The exact path with three problems on one line: a lone surrogate, its hash, its link.
    if (i % 10 === 5) {
      prev = "a".repeat(64);
      lines.push(
        `{"detail": "bad \\ud800", "previous_hash": "${"b".repeat(64)}", "hash": "${prev}"}`,
      );
    }
  }
  const run = (maxKept: number, late: boolean) => {
    const checker = new ChainChecker({ maxKept });
    const queued: [number, string, string][] = [];
    const queue = {
      addScanned(line: number, scan: LineScanner) {
        const stated = dec.decode(scan.src.subarray(scan.hashStart, scan.hashEnd));
        queued.push([line, sha256Hex(scan.canonical()), stated]);
      },
      addText(line: number, canonical: string, stated: string) {
        queued.push([line, sha256Hex(canonical), stated]);
      },
    };
    const scanner = new LineScanner();
    lines.forEach((line, i) => {
      const bytes = enc.encode(line);
      if (scanner.scan(bytes, 0, bytes.length) >= 0) {
        checker.checkScanned(i + 1, scanner, late ? queue : undefined);
      } else checker.check(i + 1, line, { hashes: late ? queue : undefined });
    });
    // Results come back in any order: here the last first.
    for (const [line, computed, stated] of queued.reverse()) {
      if (computed !== stated) checker.hashMismatch(line, stated, computed);
    }
    return {
      problems: checker.problems,
      count: checker.problemCount,
      head: checker.head,
      last: checker.lastEntry,
    };
  };
  const all = run(10_000, false);
  assert(all.problems.filter((p) => p.kind === "hash_mismatch").length >= 6);
  assert(all.problems.some((p) => p.kind === "lone_surrogate"));
  assert(all.problems.filter((p) => p.kind === "broken_link").length >= 5);
  for (const maxKept of [1, 2, 5, 9, 10_000]) {
    assertEquals(run(maxKept, true), run(maxKept, false), `maxKept ${maxKept}`);
  }
});
