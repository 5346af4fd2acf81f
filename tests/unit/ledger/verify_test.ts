import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { join } from "node:path";
import { appendEntries, GENESIS_HASH, sealEntry } from "../../../lib/ledger/append.ts";
import {
  checkRange,
  splitAtLines,
  verifyLedger,
  verifyTesting,
} from "../../../lib/ledger/verify.ts";
import { canonicalJsonWithout } from "../../../lib/ledger/pyjson.ts";
import { sha256Hex } from "../../../lib/util/hash.ts";
import { python, ROOT, runCli, sandboxFlags, tempDir } from "../../support/helpers.ts";

/** A ledger in a temporary directory, removed with it when disposed: `await using`. */
interface TempLedger extends AsyncDisposable {
  /** The ledger file. */
  path: string;
  /** Its lines as written, without their newlines. */
  lines: string[];
}

/** A temporary ledger holding `bodies`, sealed in order. */
async function tempLedger(bodies: Record<string, unknown>[]): Promise<TempLedger> {
  await using owned = new AsyncDisposableStack();
  const dir = owned.use(await tempDir());
  const path = dir.join("ledger.jsonl");
  await appendEntries(path, bodies);
  const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
  // The caller owns the directory now; a failure above removed it on the way out.
  const handedOver = owned.move();
  return { path, lines, [Symbol.asyncDispose]: () => handedOver.disposeAsync() };
}

/** A temporary ledger of `n` entries, "entry 1" to "entry n". */
function ledgerOf(n: number): Promise<TempLedger> {
  return tempLedger(Array.from({ length: n }, (_, i) => ({ detail: `entry ${i + 1}` })));
}

async function rewrite(path: string, lines: string[], trailingNewline = true) {
  await Deno.writeTextFile(path, lines.join("\n") + (trailingNewline ? "\n" : ""));
}

Deno.test("an untouched ledger verifies, with its entry count and head", async () => {
  await using ledger = await ledgerOf(5);
  const { path, lines } = ledger;
  const r = await verifyLedger(path);
  assert(r.ok);
  assertEquals(r.entries, 5);
  assertEquals(r.head, JSON.parse(lines[4]!).hash);
});

Deno.test("verify reports a changed line by its number as a hash mismatch", async () => {
  await using ledger = await ledgerOf(5);
  const { path, lines } = ledger;
  lines[2] = lines[2]!.replace("entry 3", "entry X");
  await rewrite(path, lines);
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[3, "hash_mismatch"]]);
});

Deno.test("verify reports a changed line whose hash was recomputed as a broken link on the next line", async () => {
  await using ledger = await ledgerOf(5);
  const { path, lines } = ledger;
  const e = JSON.parse(lines[1]!);
  e.detail = "forged";
  e.hash = sha256Hex(canonicalJsonWithout(e, "hash"));
  lines[1] = JSON.stringify(e);
  await rewrite(path, lines);
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[3, "broken_link"]]);
  assertStringIncludes(r.problems[0]!.message, "line 2");
});

Deno.test("verify reports a removed line at the line that no longer links", async () => {
  await using ledger = await ledgerOf(5);
  const { path, lines } = ledger;
  lines.splice(2, 1);
  await rewrite(path, lines);
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[3, "broken_link"]]);
});

Deno.test("verify reports an inserted line, and every problem rather than the first", async () => {
  await using ledger = await ledgerOf(6);
  const { path, lines } = ledger;
  const forged = sealEntry({ detail: "inserted" }, JSON.parse(lines[0]!).hash).line.trimEnd();
  lines.splice(1, 0, forged); // links correctly backwards, so line 3 breaks
  lines[5] = lines[5]!.replace("entry 5", "entry five"); // a second, separate problem
  lines.splice(6, 0, "this is not json");
  await rewrite(path, lines);
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [
    [3, "broken_link"],
    [6, "hash_mismatch"],
    [7, "not_json"],
  ]);
  assertEquals(r.problemCount, 3);
});

Deno.test("verify tells a torn last line apart from tampering", async () => {
  await using ledger = await ledgerOf(3);
  const { path, lines } = ledger;
  lines.push(lines[2]!.slice(0, 40));
  await rewrite(path, lines, false);
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[4, "torn_tail"]]);
  // The same bytes with a newline after them were written whole: that is not a torn write.
  await rewrite(path, lines, true);
  assertEquals((await verifyLedger(path)).problems.map((p) => p.kind), ["not_json"]);
});

Deno.test("verify accepts lineage entries linked with prev_hash from a GENESIS root", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const l1: Record<string, unknown> = { kind: "lineage", prev_hash: "GENESIS", anchor: "abc" };
  l1.hash = sha256Hex(canonicalJsonWithout(l1, "hash"));
  const l2: Record<string, unknown> = { kind: "lineage", prev_hash: l1.hash, n: 2 };
  l2.hash = sha256Hex(canonicalJsonWithout(l2, "hash"));
  await Deno.writeTextFile(path, JSON.stringify(l1) + "\n" + JSON.stringify(l2) + "\n");
  await appendEntries(path, [{ detail: "after lineage" }]);
  const r = await verifyLedger(path);
  assert(r.ok, JSON.stringify(r.problems));
  assertEquals(r.entries, 3);
  assertEquals(r.notes, []);
  assertEquals((await python(["verify", path])).stdout.trim(), "OK 3");
});

Deno.test("verify accepts lines other writers made with floats, big ints and non-ASCII", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  // Python writes these through the same flock-and-json.dumps path audit_stub uses.
  const script = `
import json, hashlib, sys
prev = "0" * 64
with open(sys.argv[1], "w") as f:
    for extra in [{"score": 1.0, "ratio": 1e-05}, {"big": 123456789012345678901, "t": "日本 🚨"}, {"x": [0.1, -0.0, 1e16]}]:
        e = {"timestamp": "2026-11-21T12:00:00+00:00", "agent": "other", "previous_hash": prev, **extra}
        e["hash"] = hashlib.sha256(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        f.write(json.dumps(e) + "\\n")
        prev = e["hash"]
`;
  const out = await new Deno.Command("python3", { args: ["-c", script, path] }).output();
  assertEquals(out.code, 0);
  const r = await verifyLedger(path);
  assert(r.ok, JSON.stringify(r.problems));
  assertEquals(r.entries, 3);
});

Deno.test("verify skips blank lines and reports bytes that are not UTF-8 on their own line", async () => {
  await using ledger = await ledgerOf(3);
  const { path, lines } = ledger;
  const enc = new TextEncoder();
  const bytes = [
    enc.encode(lines[0] + "\n\n"),
    new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
    enc.encode(lines[1] + "\n" + lines[2] + "\n"),
  ];
  await Deno.writeFile(path, new Uint8Array(bytes.flatMap((b) => [...b])));
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[3, "not_utf8"]]);
  assertEquals(r.blankLines, 1);
});

Deno.test("verify notes a first line that does not start from a genesis value", async () => {
  await using ledger = await ledgerOf(3);
  const { path, lines } = ledger;
  await rewrite(path, lines.slice(1));
  const r = await verifyLedger(path);
  assert(r.ok);
  assertEquals(r.notes.length, 1);
  assertStringIncludes(r.notes[0]!.message, "not to a genesis value");
  assertEquals(JSON.parse(lines[0]!).previous_hash, GENESIS_HASH);
});

Deno.test("verify finds lines across read-buffer boundaries in a large ledger", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  // About 3 MiB: several 1 MiB reads, lines split across them.
  const bodies = Array.from(
    { length: 6000 },
    (_, i) => ({ detail: `e${i} ${"x".repeat(i % 300)}` }),
  );
  await appendEntries(path, bodies);
  const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
  lines[4321] = lines[4321]!.replace(`e4321 `, `E4321 `);
  await rewrite(path, lines);
  const r = await verifyLedger(path);
  assertEquals(r.entries, 6000);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[4322, "hash_mismatch"]]);
});

Deno.test("lines longer than a read, and than the hash queue, verify; a change in one, or in a line after them, is found", async () => {
  // 2.5 MB lines do not fit a read buffer with a read after them: the buffer grows out of the
  // hasher's memory (the lines read with them are copied in) and they are hashed apart from
  // the queue; 1.5 MB ones fit a buffer but not the queue; the buffers go back to the
  // hasher's memory after each.
  const bodies = Array.from({ length: 60 }, (_, i) => ({
    detail: i === 10 || i === 40
      ? "x".repeat(2_500_000)
      : i === 25
      ? "y".repeat(1_500_000)
      : `e${i}`,
    violation: { id: `v${i}`, sequence: ["primary", "observer"] },
  }));
  await using ledger = await tempLedger(bodies);
  const intact = await verifyLedger(ledger.path, { workers: 1 });
  assertEquals([intact.ok, intact.entries], [true, 60]);
  const lines = [...ledger.lines];
  const changed = [10, 11, 12, 25, 26, 40, 41, 59];
  for (const i of changed) lines[i] = lines[i]!.replace('"detail": "', '"detail": "!');
  await rewrite(ledger.path, lines);
  const r = await verifyLedger(ledger.path, { workers: 1 });
  assertEquals(
    r.problems.map((p) => [p.line, p.kind]),
    changed.map((i) => [i + 1, "hash_mismatch"]),
  );
});

Deno.test("a large ledger checked by workers gives the same report as one pass, links across parts included", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  const bodies = Array.from(
    { length: 30_000 },
    (_, i) => ({ detail: `entry ${i} ${"x".repeat(500)}` }),
  );
  for (let i = 0; i < bodies.length; i += 5000) {
    await appendEntries(path, bodies.slice(i, i + 5000));
  }
  const size = (await Deno.stat(path)).size;
  assert(size > 16 * 1024 * 1024, "the ledger must be large enough for workers");
  const bytes = await Deno.readFile(path);
  // Break the link exactly on the first line of each part, keeping the size (and so the cut points).
  const bounds = await splitAtLines(path, size, 3);
  const brokenLines: number[] = [];
  for (const b of bounds.slice(1, -1)) {
    const at = b +
      new TextDecoder().decode(bytes.subarray(b, b + 1000)).indexOf('"previous_hash": "') + 18;
    bytes[at] = bytes[at] === 0x61 ? 0x62 : 0x61;
    brokenLines.push(bytes.subarray(0, b).filter((x) => x === 0x0a).length + 1);
  }
  // And a content change in the middle of a part.
  const mid = new TextDecoder().decode(bytes.subarray(1000, 2000)).indexOf("entry ") + 1000;
  bytes[mid] = 0x45;
  await Deno.writeFile(path, bytes);

  const single = await verifyLedger(path, { workers: 1 });
  // Three parts, cut where the links were broken.
  const parallel = await withWorkers(
    undefined,
    () => verifyLedger(path, { workers: 3 }),
    Math.ceil(size / 3),
  );
  assertEquals(verifyTesting.lastRun, "workers");
  assertEquals(parallel, single);
  assertEquals(single.entries, 30_000);
  assertEquals(
    single.problems.filter((p) => p.kind === "broken_link").map((p) => p.line),
    brokenLines,
  );
  // Each changed line also fails its own hash, before its link: the order a single pass gives.
  assertEquals(
    single.problems.filter((p) => p.kind === "hash_mismatch").length,
    brokenLines.length + 1,
  );
});

Deno.test("verify reports an entry with a lone surrogate, which Python cannot hash", async () => {
  await using ledger = await ledgerOf(2);
  const { path, lines } = ledger;
  const e: Record<string, unknown> = {
    detail: "bad \ud800 here",
    previous_hash: JSON.parse(lines[1]!).hash,
  };
  e.hash = sha256Hex(canonicalJsonWithout(e, "hash"));
  lines.push(JSON.stringify(e));
  await rewrite(path, lines);
  const r = await verifyLedger(path);
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[3, "lone_surrogate"]]);
  // A proper pair written as escapes is fine.
  lines[2] = JSON.stringify({ ...e, detail: "ok \ud83d\ude00" }).replace("😀", "\\ud83d\\ude00");
  await rewrite(path, lines);
  assertEquals((await verifyLedger(path)).problems.map((p) => p.kind), ["hash_mismatch"]);
});

Deno.test("a byte-order mark is reported on whatever line it stands", async () => {
  for (const at of [0, 1]) {
    await using ledger = await ledgerOf(3);
    const { path, lines } = ledger;
    lines[at] = "\ufeff" + lines[at];
    await rewrite(path, lines);
    const r = await verifyLedger(path);
    assertEquals(r.problems.map((p) => [p.line, p.kind]), [[at + 1, "not_json"]]);
  }
});

Deno.test("verify waits for a writer that holds the lock mid-line rather than report a torn line", async () => {
  await using ledger = await ledgerOf(1);
  const { path, lines } = ledger;
  const next = sealEntry({ detail: "written in two halves" }, JSON.parse(lines[0]!).hash).line;
  // A writer that has written half a line under its exclusive lock, and finishes later.
  const script = `
import fcntl, sys, time
line = sys.argv[2]
with open(sys.argv[1], "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.write(line[: len(line) // 2]); f.flush()
    print("half", flush=True)
    time.sleep(0.8)
    f.write(line[len(line) // 2 :]); f.flush()
    fcntl.flock(f, fcntl.LOCK_UN)
`;
  const writer = new Deno.Command("python3", { args: ["-c", script, path, next], stdout: "piped" })
    .spawn();
  const reader = writer.stdout.getReader();
  assertStringIncludes(new TextDecoder().decode((await reader.read()).value), "half");
  const r = await verifyLedger(path);
  reader.releaseLock();
  await writer.stdout.cancel();
  assertEquals((await writer.status).code, 0);
  assert(r.ok, JSON.stringify(r.problems));
  assertEquals(r.entries, 2);
});

Deno.test("a real U+FFFD in a line is text, not a decoding error", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  await appendEntries(path, [{ detail: "replacement \ufffd character" }, { detail: "after" }]);
  const r = await verifyLedger(path);
  assert(r.ok, JSON.stringify(r.problems));
  assertEquals(r.entries, 2);
});

// Runs `fn` with the parallel path taken for any ledger, cut into parts of `partBytes`,
// and, if given, a stand-in worker.
async function withWorkers<T>(
  stub: string | undefined,
  fn: () => Promise<T>,
  partBytes = 1024,
): Promise<T> {
  const saved = { ...verifyTesting };
  verifyTesting.parallelMinBytes = 0;
  verifyTesting.partBytes = partBytes;
  if (stub) {
    verifyTesting.workerUrl = new URL(
      `../../support/verify_worker_stub.ts?fail=${stub}`,
      import.meta.url,
    );
  }
  try {
    return await fn();
  } finally {
    verifyTesting.parallelMinBytes = saved.parallelMinBytes;
    verifyTesting.partBytes = saved.partBytes;
    verifyTesting.workerUrl = saved.workerUrl;
  }
}

Deno.test("by default verify starts workers only on a machine with cores to spare", async () => {
  // Workers only with cores to spare: four or more, not saturated; the rest is measured.
  assertEquals(verifyTesting.threadsFor(2, undefined), 1);
  assertEquals(verifyTesting.threadsFor(2, 0), 1);
  assertEquals(verifyTesting.threadsFor(4, undefined), 4);
  assertEquals(verifyTesting.threadsFor(4, 3.5), 4);
  assertEquals(verifyTesting.threadsFor(4, 4.2), 1);
  assertEquals(verifyTesting.threadsFor(16, 1), 4);
  await using ledger = await ledgerOf(40);
  const saved = verifyTesting.idleCores;
  try {
    verifyTesting.idleCores = () => 1;
    await withWorkers(undefined, () => verifyLedger(ledger.path));
    assertEquals(verifyTesting.lastRun, "one pass");
    verifyTesting.idleCores = () => 2;
    await withWorkers(undefined, () => verifyLedger(ledger.path));
    assertEquals(verifyTesting.lastRun, "workers");
  } finally {
    verifyTesting.idleCores = saved;
  }
});

Deno.test("a worker that may not read the ledger makes verify exit 77, as one pass does", async () => {
  await using ledger = await ledgerOf(40);
  const { path } = ledger;
  const driver = join(ROOT, "tests", "support", "verify_revoked.ts");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", `--allow-read=${ROOT},${path}`, driver, path],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 77, stderr);
  assertStringIncludes(
    stderr,
    `Cannot verify ledger ${path}: the permission set does not grant it`,
  );
});

Deno.test("a worker that fails is ended and its part checked here; a silent one's part too", async () => {
  await using ledger = await ledgerOf(40);
  const { path } = ledger;
  const single = await verifyLedger(path, { workers: 1 });
  // One stub worker holds the first part and never answers; the other throws on its part.
  const r = await withWorkers("crash", () => verifyLedger(path, { workers: 3 }));
  assertEquals(verifyTesting.lastRun, "workers");
  assertEquals(verifyTesting.lastWorkerParts, 0);
  assertEquals(r, single);
  assert(r.ok, JSON.stringify(r.problems));
  assertEquals(verifyTesting.liveWorkers, 0);
});

Deno.test("the real workers are all ended once a verify is done", async () => {
  await using ledger = await ledgerOf(40);
  const { path } = ledger;
  const r = await withWorkers(undefined, () => verifyLedger(path, { workers: 3 }));
  assertEquals([r.ok, r.entries, verifyTesting.lastRun], [true, 40, "workers"]);
  assertEquals(verifyTesting.liveWorkers, 0);
});

Deno.test("a worker run from the bundled source checks a part under the coordinator's own permission set", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.join("audits/moses"), { recursive: true });
  const path = dir.join("audits/moses/audit_ledger.jsonl");
  await appendEntries(path, Array.from({ length: 30 }, (_, i) => ({ detail: `entry ${i}` })));
  const bounds = await splitAtLines(path, (await Deno.stat(path)).size, 2);
  const driver = join(ROOT, "tests", "support", "verify_bundle_worker.ts");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...sandboxFlags(), driver, String(bounds[1]), String(bounds[2])],
    cwd: dir.path,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  const here = await checkRange({
    path,
    start: bounds[1]!,
    end: bounds[2]!,
    midChain: true,
    withIds: true,
  });
  assertEquals(result.entries, here.entries);
  assertEquals(result.problemCount, 0);
  assertEquals(result.lastEntry, here.lastEntry);
  assert(result.entries > 10, `only ${result.entries} entries in the second half`);
});

Deno.test("verify lists an id on more than one line, in one pass and across workers alike", async () => {
  const bodies: Record<string, unknown>[] = Array.from(
    { length: 60 },
    (_, i) => ({ detail: `entry ${i + 1}`, violation: { id: `unique-${i + 1}` } }),
  );
  const at = (line: number, body: Record<string, unknown>) => (bodies[line - 1] = body);
  at(3, { violation: { id: "id-a" } });
  at(40, { violation: { id: "id-a" } });
  at(10, { violation: { id: "id-b" } });
  at(12, { violation: { id: "id-b", conversation: "another" } });
  for (const line of [5, 25, 55]) at(line, { violation: { id: "id-c" } });
  for (const line of [44, 46, 48]) at(line, { violation: { id: "id-d" } });
  // Any top-level object with a string id counts; the same id under another field is another id.
  at(7, { finding: { id: "id-a" } });
  at(50, { finding: { id: "id-a" } });
  // Not ids: a number, a nested object, an array.
  at(20, { violation: { id: 1 } });
  at(21, { violation: { id: 1 } });
  at(22, { outer: { inner: { id: "x" } } });
  at(23, { outer: { inner: { id: "x" } } });
  await using ledger = await tempLedger(bodies);
  const { path } = ledger;
  const single = await verifyLedger(path, { workers: 1 });
  assertEquals(single.duplicateIds, [
    { field: "violation", id: "id-a", lines: [3, 40], count: 2 },
    { field: "violation", id: "id-c", lines: [5, 25, 55], count: 3 },
    { field: "finding", id: "id-a", lines: [7, 50], count: 2 },
    { field: "violation", id: "id-b", lines: [10, 12], count: 2 },
    { field: "violation", id: "id-d", lines: [44, 46, 48], count: 3 },
  ]);
  assertEquals(single.duplicateIdCount, 5);
  assert(single.ok);
  // Three parts: id-a and id-c cross them, id-b and id-d stay within one.
  const bounds = await splitAtLines(path, (await Deno.stat(path)).size, 3);
  assertEquals(bounds.length, 4);
  const parallel = await withWorkers(undefined, () => verifyLedger(path, { workers: 3 }));
  assertEquals(verifyTesting.lastRun, "workers");
  assertEquals(parallel, single);
});

Deno.test("ids repeated anywhere in a ledger of many reads are listed with their own text, at read boundaries too", async () => {
  // Lines of about 6 KB: under 256 ids a read, so those of a read's last lines are still
  // queued when it ends, and their text must be read before the part of a line left over is
  // copied over the front of that buffer. Each id comes back every 97 lines.
  const idOf = (n: number) => `id-${n}-${"y".repeat(n % 17)}`;
  const bodies = Array.from({ length: 1200 }, (_, i) => ({
    detail: `e${i} ${"x".repeat(6000 + ((i * 37) % 500))}`,
    violation: { id: idOf(i % 97) },
  }));
  await using ledger = await tempLedger(bodies);
  const r = await verifyLedger(ledger.path, { workers: 1 });
  assertEquals(r.duplicateIdCount, 97);
  for (const d of r.duplicateIds) {
    const n = d.lines[0]! - 1;
    assertEquals([d.field, d.id], ["violation", idOf(n)]);
    assertEquals(
      d.lines,
      Array.from({ length: n < 1200 % 97 ? 13 : 12 }, (_, k) => n + 1 + 97 * k),
    );
  }
});

Deno.test("a ledger whose ids are all different has no duplicate ids", async () => {
  await using ledger = await tempLedger(
    Array.from({ length: 5000 }, (_, i) => ({ violation: { id: crypto.randomUUID() }, n: i })),
  );
  const { path } = ledger;
  const r = await verifyLedger(path);
  assertEquals([r.ok, r.entries, r.duplicateIds, r.duplicateIdCount], [true, 5000, [], 0]);
  const parallel = await withWorkers(undefined, () => verifyLedger(path, { workers: 2 }));
  assertEquals(verifyTesting.lastRun, "workers");
  assertEquals(parallel, r);
});

// Appends entries through the Python writer (tests/support/moses_ledger.py), each carrying
// `violation: {id}`: its log() builds the entry, and the hook adds the violation just
// before the entry is hashed, so the writer seals and writes it as any other line.
async function pythonViolations(path: string, ids: string[]): Promise<void> {
  const script = `
import sys
sys.path.insert(0, sys.argv[1])
import moses_ledger
entry_hash = moses_ledger.entry_hash
for vid in sys.argv[3:]:
    def with_violation(entry, vid=vid):
        if vid != "-":
            entry.setdefault("violation", {"id": vid, "conversation": "c1", "agent": "bob"})
        return entry_hash(entry)
    moses_ledger.entry_hash = with_violation
    moses_ledger.log(sys.argv[2], "sequence violation", 0, 1)
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, join(ROOT, "tests", "support"), path, ...ids],
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("verify notes a violation id the Python writer wrote twice, and the chain stays intact", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.join("audits/moses"), { recursive: true });
  const ledger = dir.join("audits/moses/audit_ledger.jsonl");
  const twice = crypto.randomUUID();
  await pythonViolations(ledger, ["-", twice, crypto.randomUUID(), twice, "-"]);
  assertEquals((await python(["verify", ledger])).stdout.trim(), "OK 5");

  const text = await runCli(["verify"], { cwd: dir.path, flags: sandboxFlags() });
  assertEquals(text.code, 0, text.stderr);
  assertStringIncludes(text.stdout, "Ledger intact: 5 entries");
  assertStringIncludes(
    text.stdout,
    `note: violation.id ${twice.slice(0, 8)}… is on 2 lines: 2 and 4`,
  );
  const json = await runCli(["verify", "--json"], { cwd: dir.path, flags: sandboxFlags() });
  assertEquals(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assertEquals(report.ok, true);
  assertEquals(report.duplicateIds, [
    { field: "violation", id: twice, lines: [2, 4], count: 2 },
  ]);
});

Deno.test("verify of a Python-written ledger without a repeated id prints no duplicate note", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.join("audits/moses"), { recursive: true });
  const ledger = dir.join("audits/moses/audit_ledger.jsonl");
  await pythonViolations(ledger, ["-", crypto.randomUUID(), crypto.randomUUID(), "-"]);
  const text = await runCli(["verify"], { cwd: dir.path, flags: sandboxFlags() });
  assertEquals(text.code, 0, text.stderr);
  assertStringIncludes(text.stdout, "Ledger intact: 4 entries");
  assert(!text.stdout.includes("note"), text.stdout);
  const json = await runCli(["verify", "--json"], { cwd: dir.path, flags: sandboxFlags() });
  assertEquals(JSON.parse(json.stdout).duplicateIds, []);
});

Deno.test("onEntry sees every entry with its line, in order, in the one pass that checks the chain", async () => {
  await using tmp = await tempDir();
  const path = join(tmp.path, "ledger.jsonl");
  await appendEntries(path, [{ detail: "a" }, { detail: "b" }]);
  await Deno.writeTextFile(path, "not json\n\n", { append: true });
  await Deno.writeTextFile(path, JSON.stringify({ detail: "c", hash: "x" }) + "\n", {
    append: true,
  });
  const seen: [number, unknown][] = [];
  const r = await withWorkers(
    undefined,
    () => verifyLedger(path, { onEntry: (line, e) => seen.push([line, e.detail]) }),
  );
  assertEquals(seen, [[1, "a"], [2, "b"], [5, "c"]]);
  assertEquals(verifyTesting.lastRun, "one pass");
  assertEquals(r.problems.map((p) => [p.line, p.kind]), [[3, "not_json"], [5, "hash_mismatch"]]);
});

Deno.test("a broken link inside a part names the lines of the file, as one pass does", async () => {
  await using ledger = await ledgerOf(60);
  const { path, lines } = ledger;
  lines.splice(37, 1); // line 38 removed: line 38 (was 39) no longer links to line 37
  await rewrite(path, lines);
  const single = await verifyLedger(path, { workers: 1 });
  assertEquals(single.problems.map((p) => [p.line, p.kind]), [[38, "broken_link"]]);
  assertStringIncludes(single.problems[0]!.message, "hash of line 37 ");
  const parallel = await withWorkers(undefined, () => verifyLedger(path, { workers: 2 }), 2048);
  assertEquals(verifyTesting.lastRun, "workers");
  assertEquals(parallel, single);
});

Deno.test("a last line without a newline is noted only when it has no problem, however the ledger is cut", async () => {
  await using ledger = await ledgerOf(6);
  const { path, lines } = ledger;
  // Its link broken (its own hash right): a problem, no note. Every line its own part: the
  // link is checked where the parts meet.
  const e: Record<string, unknown> = { ...JSON.parse(lines[5]!), previous_hash: "f".repeat(64) };
  e.hash = sha256Hex(canonicalJsonWithout(e, "hash"));
  lines[5] = JSON.stringify(e);
  await rewrite(path, lines, false);
  const single = await verifyLedger(path, { workers: 1 });
  assertEquals(single.problems.map((p) => [p.line, p.kind]), [[6, "broken_link"]]);
  assertEquals(single.notes, []);
  const parallel = await withWorkers(undefined, () => verifyLedger(path, { workers: 2 }), 1);
  assertEquals(parallel, single);
});

Deno.test("the note on a last line without a newline does not depend on the cap on kept problems", async () => {
  await using dir = await tempDir();
  const path = dir.join("ledger.jsonl");
  // 10,005 lines with a wrong hash each (and no link): more problems than are kept.
  const line = (i: number) => `{"detail": "entry ${i}", "hash": "${"0".repeat(64)}"}`;
  const text = Array.from({ length: 10_005 }, (_, i) => line(i)).join("\n");
  await Deno.writeTextFile(path, text);
  const r = await verifyLedger(path, { workers: 1 });
  assert(r.problemCount > 10_005, String(r.problemCount));
  assertEquals(r.problems.length, 10_000);
  assertEquals(r.notes.filter((n) => n.message.includes("newline")), []);
});
