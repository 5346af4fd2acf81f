import { assert, assertEquals } from "../../support/assert.ts";
import {
  countLines,
  formatLine,
  type LedgerLine,
  matches,
  readLine,
  readTail,
  type TailFile,
} from "../../../lib/cli/ledger_view.ts";

/** A file in memory that counts the bytes read from it. */
function memFile(bytes: Uint8Array): TailFile & { bytesRead: number } {
  let pos = 0;
  const f = {
    bytesRead: 0,
    seek(offset: number | bigint) {
      pos = Number(offset);
      return Promise.resolve(pos);
    },
    read(p: Uint8Array) {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      f.bytesRead += n;
      return Promise.resolve(n);
    },
  };
  return f as unknown as TailFile & { bytesRead: number };
}

const enc = new TextEncoder();
const entry = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    timestamp: `2026-11-21T12:00:${String(i % 60).padStart(2, "0")}+00:00`,
    agent: `a${i % 3}`,
    action: "test",
    detail: `d${i}`,
    outcome: "logged",
    ...extra,
  });
const details = (lines: LedgerLine[]) =>
  lines.map((l) => ("entry" in l ? l.entry.detail : `${l.invalid}`));

Deno.test("-n reads only the tail: a 64 MiB head of garbage is not read", async () => {
  const head = new Uint8Array(64 * 1024 * 1024).fill(0x78); // one enormous non-JSON "line"
  const tail = enc.encode("\n" + Array.from({ length: 30 }, (_, i) => entry(i)).join("\n") + "\n");
  const data = new Uint8Array(head.length + tail.length);
  data.set(head);
  data.set(tail, head.length);
  const file = memFile(data);
  const got = await readTail(file, data.length, { n: 20, keep: () => true });
  assertEquals(details(got.lines), Array.from({ length: 20 }, (_, i) => `d${i + 10}`));
  assert(file.bytesRead <= 128 * 1024, `read ${file.bytesRead} bytes`);
  assertEquals(got.bytesRead, file.bytesRead);
});

Deno.test("-n with a filter reads back until N entries match, oldest first", async () => {
  const text = Array.from({ length: 5000 }, (_, i) => entry(i)).join("\n") + "\n";
  const got = await readTail(memFile(enc.encode(text)), enc.encode(text).length, {
    n: 4,
    keep: (l) => "entry" in l && matches(l.entry, { agent: "a1" }),
  });
  assertEquals(details(got.lines), ["d4990", "d4993", "d4996", "d4999"]);
});

Deno.test("-n: a torn last line, a non-JSON line and a blank line, with their distance from the end", async () => {
  const text = [entry(1), "not json", "", entry(2), '{"timestamp": "2026-11-21T12:00'].join("\n");
  const bytes = enc.encode(text);
  const got = await readTail(memFile(bytes), bytes.length, { n: 3, keep: () => true });
  assertEquals(details(got.lines), ["not_json", "d2", "torn"]);
  assertEquals(got.fromEnd, [3, 1, 0]);
  assertEquals(await countLines(memFile(bytes), bytes.length), 5);
});

Deno.test("-n: lines longer than a read chunk, a file without a newline, a lone line, CRLF", async () => {
  const long = entry(7, { detail: "x".repeat(200_000) });
  for (
    const [text, want] of [
      [`${entry(1)}\n${long}\n${entry(2)}\n`, ["d1", "x".repeat(200_000), "d2"]],
      [`${entry(1)}\r\n${entry(2)}`, ["d1", "d2"]],
      [entry(3), ["d3"]],
      ["", []],
      ["\n\n", []],
    ] as const
  ) {
    const bytes = enc.encode(text);
    const got = await readTail(memFile(bytes), bytes.length, { n: 10, keep: () => true });
    assertEquals(details(got.lines), [...want]);
  }
});

Deno.test("a line is an entry, not JSON, not an object, not UTF-8, or torn (unterminated)", () => {
  assertEquals(readLine(enc.encode(entry(1)), 1, false)?.line, 1);
  assertEquals(readLine(enc.encode("{oops"), 2, false), {
    line: 2,
    invalid: "not_json",
    text: "{oops",
  });
  assertEquals(readLine(enc.encode("{oops"), 2, true), { line: 2, invalid: "torn", text: "{oops" });
  assertEquals(readLine(enc.encode("[1]"), 3, false), {
    line: 3,
    invalid: "not_object",
    text: "[1]",
  });
  const bad = readLine(new Uint8Array([0x7b, 0xff, 0x7d]), 4, false);
  assertEquals(bad !== undefined && "invalid" in bad ? bad.invalid : undefined, "not_utf8");
  assertEquals(readLine(enc.encode("  "), 5, false), undefined);
});

Deno.test("filters: action, agent, outcome (any case), conversation (a finding's), time", () => {
  const e = {
    timestamp: "2026-11-21T12:00:00.500000+00:00",
    agent: "coordinator",
    action: "sequence_violation",
    outcome: "logged",
    violation: { conversation: "g7" },
  };
  assert(matches(e, {}));
  assert(matches(e, { action: "sequence_violation", agent: "coordinator", outcome: "LOGGED" }));
  assert(matches(e, { conversation: "g7" }));
  assert(!matches(e, { conversation: "g8" }));
  assert(!matches(e, { agent: "observer" }));
  assert(
    matches(e, { since: Date.UTC(2026, 10, 21, 12), until: Date.UTC(2026, 10, 21, 12, 0, 1) }),
  );
  assert(!matches(e, { since: Date.UTC(2026, 10, 21, 12, 0, 1) }));
  assert(!matches(e, { until: Date.UTC(2026, 10, 21, 11) }));
  assert(!matches({ ...e, timestamp: "garbage" }, { since: 0 }));
});

Deno.test("a readable line: time, agent, action, outcome, detail; control characters escaped; colour only when asked", () => {
  const l: LedgerLine = {
    line: 1,
    entry: {
      timestamp: "2026-11-21T12:02:18.246730+00:00",
      agent: "coordinator",
      action: "sequence_violation",
      outcome: "logged",
      detail: "forged\nline\u001b[2J",
    },
  };
  const plain = formatLine(l, { colour: false });
  assertEquals(
    plain.replace(/ +/g, " "),
    "2026-11-21 12:02:18 coordinator sequence_violation logged forged\\u000aline\\u001b[2J",
  );
  assert(!plain.includes("\x1b"));
  assert(formatLine(l, { colour: true }).includes("\x1b["));
  assertEquals(
    formatLine({ line: 9, invalid: "not_json", text: "oops" }, { colour: false }),
    "line 9: not valid: not JSON: oops",
  );
});
