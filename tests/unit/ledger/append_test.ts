import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { join } from "node:path";
import {
  appendEntries,
  chainHead,
  findingIdsInTail,
  GENESIS_HASH,
  LedgerError,
  readTail,
  sealEntry,
} from "../../../lib/ledger/append.ts";
import { findingEntry } from "../../../lib/ledger/entries.ts";
import { violationFinding } from "../../support/findings.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";
import { canonicalJsonWithout } from "../../../lib/ledger/pyjson.ts";
import { sha256Hex } from "../../../lib/util/hash.ts";
import { irregularFile, readRegularTextIfExists } from "../../../lib/util/fs.ts";
import { PY_LEDGER, python, readLedger, tempDir } from "../../support/helpers.ts";

const GOV = DEFAULT_GOVERNANCE.fields;

function body(conversation: string, agent = "observer") {
  return findingEntry(
    violationFinding({
      id: `id-${conversation}`,
      at: Date.UTC(2026, 10, 21, 12, 2, 18, 246) + 0.73,
      protocol: "legacy",
      conversation,
      agent,
      role: "observer",
      expected: "secondary",
      sequence: ["primary", "secondary", "observer"],
    }),
    GOV,
  );
}

Deno.test("an entry has audit_stub's keys in its order, then violation, then hash", () => {
  const { entry } = sealEntry(body("g7"), GENESIS_HASH);
  assertEquals(Object.keys(entry), [
    "timestamp",
    "agent",
    "component",
    "action",
    "detail",
    "outcome",
    "mode",
    "posture",
    "role",
    "session_hash",
    "previous_hash",
    "violation",
    "hash",
  ]);
  assertEquals(entry.timestamp, "2026-11-21T12:02:18.246730+00:00");
  assertEquals(entry.outcome, "logged");
  assertEquals(entry.agent, "coordinator");
  assertEquals(entry.component, "moses-coordinator");
  assertEquals(
    entry.detail,
    "Sequence violation in conversation g7: observer responded, expected secondary",
  );
  assertEquals(entry.hash, sha256Hex(canonicalJsonWithout(entry, "hash")));
});

Deno.test("appends chain each line to the one before and the Python verifier accepts them", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const first = await appendEntries(path, [body("a"), body("b")]);
  const second = await appendEntries(path, [body("c")]);
  const lines = await readLedger(path);
  assertEquals(lines.length, 3);
  assertEquals(lines[0]!.previous_hash, GENESIS_HASH);
  assertEquals(lines[1]!.previous_hash, first.hashes[0]);
  assertEquals(lines[2]!.previous_hash, first.hashes[1]);
  assertEquals(lines[2]!.hash, second.hashes[0]);
  const py = await python(["verify", path]);
  assertEquals(py.stdout.trim(), "OK 3", py.stderr);
});

Deno.test("a new ledger file is created 0600", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  await appendEntries(path, [body("a")]);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
});

Deno.test("our lines chain onto lines a Python writer appended, and it onto ours", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  assertEquals((await python(["log", path, "--detail", "první záznam 🚨"])).code, 0);
  await appendEntries(path, [body("a")]);
  assertEquals((await python(["log", path, "--count", "2"])).code, 0);
  await appendEntries(path, [body("b")]);
  const py = await python(["verify", path]);
  assertEquals(py.stdout.trim(), "OK 5", py.stderr);
});

Deno.test("an append waits for a Python writer's flock and links to the line it wrote", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const holder = new Deno.Command("python3", {
    args: [PY_LEDGER, "log", path, "--hold", "0.6"],
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.getReader();
  const { value } = await reader.read();
  assertStringIncludes(new TextDecoder().decode(value), "locked");
  const started = Date.now();
  await appendEntries(path, [body("after-python")]);
  const waited = Date.now() - started;
  reader.releaseLock();
  await holder.stdout.cancel();
  assertEquals((await holder.status).code, 0);
  // Had the lock not been honoured, ours would be the first line and Python's would not link.
  assert(waited >= 300, `append returned after ${waited} ms, while the lock was held`);
  const lines = await readLedger(path);
  assertEquals(lines.map((l) => l.agent), ["python-writer", "coordinator"]);
  assertEquals(lines[1]!.previous_hash, lines[0]!.hash);
});

Deno.test("several processes appending at once leave one unbroken chain with every line", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const script = join(dir, "writer.ts");
  await Deno.writeTextFile(
    script,
    `import { appendEntries } from ${
      JSON.stringify(new URL("../../../lib/ledger/append.ts", import.meta.url).href)
    };
for (let i = 0; i < 40; i++) await appendEntries(Deno.args[0], [{ detail: Deno.args[1] + "-" + i }]);`,
  );
  const procs = ["w1", "w2", "w3"].map((name) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", script, path, name] }).spawn()
  );
  const py = new Deno.Command("python3", {
    args: [PY_LEDGER, "log", path, "--count", "40"],
  }).spawn();
  for (const p of [...procs, py]) assertEquals((await p.status).code, 0);
  const lines = await readLedger(path);
  assertEquals(lines.length, 160);
  for (const name of ["w1", "w2", "w3"]) {
    assertEquals(lines.filter((l) => String(l.detail).startsWith(name + "-")).length, 40);
  }
  assertEquals((await python(["verify", path])).stdout.trim(), "OK 160");
});

/** A file stand-in that counts the bytes read from it. */
function countingFile(data: Uint8Array) {
  let pos = 0;
  const f = {
    bytesRead: 0,
    seekSync(offset: number) {
      pos = offset;
      return pos;
    },
    readSync(buf: Uint8Array) {
      if (pos >= data.length) return null;
      const n = Math.min(buf.length, data.length - pos);
      buf.set(data.subarray(pos, pos + n));
      pos += n;
      f.bytesRead += n;
      return n;
    },
  };
  return f;
}

Deno.test("finding the chain head reads only the end of the file, however long it is", () => {
  const line = new TextEncoder().encode(sealEntry(body("x"), GENESIS_HASH).line);
  const count = 20_000;
  const data = new Uint8Array(line.length * count);
  for (let i = 0; i < count; i++) data.set(line, i * line.length);
  const f = countingFile(data);
  const tail = readTail(f, data.length);
  assert(f.bytesRead <= 64 * 1024, `read ${f.bytesRead} of ${data.length} bytes`);
  assertEquals(JSON.parse(tail.lastLine!).hash, sealEntry(body("x"), GENESIS_HASH).hash);
});

Deno.test("the chain head skips trailing blank lines and finds a line longer than one read", () => {
  const long = JSON.stringify({ hash: "h2", pad: "p".repeat(200_000) });
  const text = JSON.stringify({ hash: "h1" }) + "\n" + long + "\n\n  \n";
  const data = new TextEncoder().encode(text);
  const tail = readTail(countingFile(data), data.length);
  assertEquals(chainHead(tail), { previousHash: "h2", needsNewline: false });
});

Deno.test("an append refuses a torn last line and leaves the file untouched", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  await appendEntries(path, [body("a")]);
  await Deno.writeTextFile(path, '{"timestamp": "2026', { append: true });
  const before = await Deno.readTextFile(path);
  const err = await assertRejects(() => appendEntries(path, [body("b")]), LedgerError, "torn");
  assertEquals((err as LedgerError).code, "torn_tail");
  assertEquals(await Deno.readTextFile(path), before);
});

Deno.test("an append with recovery cuts a torn last line, keeps it beside the ledger, and records the cut before its own lines", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  await appendEntries(path, [body("a"), body("b")]);
  const whole = (await Deno.stat(path)).size;
  const torn = '{"timestamp": "2026-11-21T12:02:18.246730+00:00", "agent": "coord';
  await Deno.writeTextFile(path, torn, { append: true });
  const result = await appendEntries(path, [body("c")], {
    recover: (cut) => ({ action: "ledger_recovered", detail: "cut", recovery: { ...cut } }),
  });
  const cut = result.recovered!.cut;
  assertEquals(cut.offset, whole);
  assertEquals(cut.bytes, torn.length);
  assertEquals(cut.sha256, sha256Hex(torn));
  assertEquals(await Deno.readTextFile(cut.keptIn), torn);
  assertEquals((await Deno.stat(cut.keptIn)).mode! & 0o777, 0o600);
  const lines = await readLedger(path);
  assertEquals(lines.map((l) => l.action ?? l.detail), [
    "sequence_violation",
    "sequence_violation",
    "ledger_recovered",
    "sequence_violation",
  ]);
  assertEquals(lines[2]!.hash, result.recovered!.hash);
  assertEquals(lines[3]!.hash, result.hashes[0]);
  assertEquals((await python(["verify", path])).stdout.trim(), "OK 4");
});

Deno.test("recovery alone writes nothing to a whole ledger, and makes no ledger where there is none", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const recover = () => ({ action: "ledger_recovered" });
  assertEquals(await appendEntries(path, [], { recover }), { hashes: [], bytes: 0 });
  await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
  await appendEntries(path, [body("a")]);
  const before = await Deno.readTextFile(path);
  assertEquals(await appendEntries(path, [], { recover }), { hashes: [], bytes: 0 });
  assertEquals(await Deno.readTextFile(path), before);
});

Deno.test("a writer killed with SIGKILL during a stream of appends leaves every acknowledged line intact", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const writer = new URL("../../support/append_stream.ts", import.meta.url).pathname;
  const acked: string[] = [];
  for (let round = 0; round < 5; round++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", writer, path, `r${round}`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    // Kill at a different moment each round, mid-stream.
    const target = 200 + round * 150;
    while (text.split("\n").length <= target) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGKILL");
    await child.status;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    // Only whole lines of output are acknowledgements; each round's writer gives some (after
    // a torn line too: it cuts it first).
    const fresh = text.split("\n").slice(0, -1);
    assert(fresh.length > 0, `round ${round}: the writer acknowledged nothing`);
    acked.push(...fresh);
    // A kill inside a write leaves a torn last line (never acknowledged): seldom by chance,
    // so made here once for sure. Whole lines only are read; the next writer cuts it.
    if (round === 1) {
      await Deno.writeTextFile(path, '{"agent": "coordinator", "detail": "torn by a ki', {
        append: true,
      });
    }
    const written = await Deno.readTextFile(path);
    const onDisk = written.slice(0, written.lastIndexOf("\n") + 1).split("\n")
      .filter((l) => l.trim() !== "").map((l) => JSON.parse(l).hash as string);
    const set = new Set(onDisk);
    const missing = acked.filter((h) => !set.has(h));
    assertEquals(missing, [], `round ${round}: acknowledged lines missing`);
    // In order, too: acknowledged lines appear in the ledger in the order acknowledged.
    const positions = acked.map((h) => onDisk.indexOf(h));
    assert(positions.every((p, i) => i === 0 || p > positions[i - 1]!), "out of order");
  }
  // The next writer to start cuts a torn last line the last kill may have left.
  await appendEntries(path, [], {
    recover: (cut) => ({ action: "ledger_recovered", detail: "cut", recovery: { ...cut } }),
  });
  const verified = await python(["verify", path]);
  assertEquals(verified.code, 0, verified.stdout + verified.stderr);
});

Deno.test("a complete last line without a newline gets one before the next line", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  await appendEntries(path, [body("a")]);
  await Deno.writeTextFile(path, (await Deno.readTextFile(path)).trimEnd());
  await appendEntries(path, [body("b")]);
  assertEquals((await python(["verify", path])).stdout.trim(), "OK 2");
});

Deno.test("an append refuses a last line with no hash to link to", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  await Deno.writeTextFile(path, '{"detail": "no hash here"}\n');
  const err = await assertRejects(() => appendEntries(path, [body("b")]), LedgerError, "no hash");
  assertEquals((err as LedgerError).code, "bad_head");
});

Deno.test("an append refuses a ledger path that is a symbolic link", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const real = join(dir, "real.jsonl");
  const link = join(dir, "ledger.jsonl");
  await Deno.writeTextFile(real, "");
  await Deno.symlink(real, link);
  const err = await assertRejects(
    () => appendEntries(link, [body("a")]),
    LedgerError,
    "symbolic link",
  );
  assertEquals((err as LedgerError).code, "symlink");
  assertEquals(await Deno.readTextFile(real), "");
});

/**
 * Runs `fn` with `Deno[name]` (lstat or lstatSync) wrapped so that, right after it has looked
 * at `path`, `path` is swapped for a symbolic link to `target`: the race an lstat-then-open
 * loses.
 */
async function withSwapAfterLstat(
  name: "lstat" | "lstatSync",
  path: string,
  target: string,
  fn: () => Promise<void>,
) {
  const original = Deno[name];
  const { lstat, lstatSync } = Deno;
  const swap = (looked: unknown) => {
    if (looked !== path) return;
    Deno.removeSync(path);
    Deno.symlinkSync(target, path);
  };
  const patched = name === "lstat"
    ? async (p: string | URL) => {
      const info = await lstat(p);
      swap(p);
      return info;
    }
    : (p: string | URL) => {
      const info = lstatSync(p);
      swap(p);
      return info;
    };
  // Only the first look at `path` is raced: the wrapper removes itself once called.
  Object.defineProperty(Deno, name, {
    value: (p: string | URL) => {
      Object.defineProperty(Deno, name, { value: original, writable: true, configurable: true });
      return patched(p);
    },
    writable: true,
    configurable: true,
  });
  try {
    await fn();
  } finally {
    Object.defineProperty(Deno, name, { value: original, writable: true, configurable: true });
  }
}

Deno.test("an append refuses a ledger swapped for a symbolic link between its lstat and its open", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const elsewhere = join(dir, "elsewhere.jsonl");
  await appendEntries(path, [body("a")]);
  await Deno.writeTextFile(elsewhere, "");
  await withSwapAfterLstat("lstatSync", path, elsewhere, async () => {
    const err = await assertRejects(
      () => appendEntries(path, [body("b")]),
      LedgerError,
      `Cannot append to ledger ${path}: it was replaced by a link or another file`,
    );
    assertEquals((err as LedgerError).code, "replaced");
  });
  assert((await Deno.lstat(path)).isSymlink, "the swap did not happen");
  assertEquals(await Deno.readTextFile(elsewhere), "");
});

Deno.test("a file read as regular is refused when swapped for a symbolic link between its lstat and its open", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "coordinator.jsonc");
  const secret = join(dir, "secret.txt");
  await Deno.writeTextFile(path, "{}");
  await Deno.writeTextFile(secret, "not for the coordinator");
  await withSwapAfterLstat("lstat", path, secret, async () => {
    await assertRejects(
      () => readRegularTextIfExists(path),
      Error,
      "replaced while being opened",
    );
  });
  assert((await Deno.lstat(path)).isSymlink, "the swap did not happen");
});

Deno.test("irregularFile refuses a link, a non-file, and a file other than the one the lstat saw", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const a = join(dir, "a.jsonl");
  const b = join(dir, "b.jsonl");
  const link = join(dir, "link.jsonl");
  await Deno.writeTextFile(a, "a");
  await Deno.writeTextFile(b, "b");
  await Deno.symlink(a, link);
  const statOpen = async (p: string) => {
    using f = await Deno.open(p, { read: true });
    return await f.stat();
  };
  assertEquals(irregularFile(await Deno.lstat(a), await statOpen(a)), undefined);
  // The path was a file when looked at, but the open found another (a rename or a link
  // swapped in between: the open follows links).
  assertEquals(irregularFile(await Deno.lstat(a), await statOpen(b)), "replaced");
  assertEquals(irregularFile(await Deno.lstat(link), await statOpen(link)), "symlink");
  assertEquals(irregularFile(await Deno.lstat(dir), await statOpen(dir)), "not_file");
  assertEquals(irregularFile(await Deno.lstat(a), await statOpen(dir)), "replaced");
});

Deno.test("an append refuses a ledger path that is a directory, or a dangling link, and creates nothing", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const asDir = join(dir, "ledger.jsonl");
  await Deno.mkdir(asDir);
  const err = await assertRejects(
    () => appendEntries(asDir, [body("a")]),
    LedgerError,
    "not a regular file",
  );
  assertEquals((err as LedgerError).code, "not_regular");
  const dangling = join(dir, "dangling.jsonl");
  const target = join(dir, "target.jsonl");
  await Deno.symlink(target, dangling);
  const linkErr = await assertRejects(() => appendEntries(dangling, [body("a")]), LedgerError);
  assertEquals((linkErr as LedgerError).code, "symlink");
  await assertRejects(() => Deno.stat(target), Deno.errors.NotFound);
});

Deno.test("an append to a path that cannot be opened fails with the path and the reason", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "missing-dir", "ledger.jsonl");
  const err = await assertRejects(() => appendEntries(path, [body("a")]), LedgerError, path);
  assertEquals((err as LedgerError).code, "io");
});

Deno.test("an append links after a Python line holding NaN and Infinity", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const script = `
import json, hashlib, sys
e = {"timestamp": "t", "score": float("nan"), "cap": float("inf"), "previous_hash": "0" * 64}
e["hash"] = hashlib.sha256(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
open(sys.argv[1], "w").write(json.dumps(e) + "\\n")
`;
  assertEquals(
    (await new Deno.Command("python3", { args: ["-c", script, path] }).output()).code,
    0,
  );
  assertStringIncludes(await Deno.readTextFile(path), "NaN");
  await appendEntries(path, [body("after-nan")]);
  assertEquals((await python(["verify", path])).stdout.trim(), "OK 2");
});

Deno.test("findingIdsInTail collects the ids of the findings on the ledger's whole lines", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  assertEquals(await findingIdsInTail(path), new Set());
  await appendEntries(path, [body("a"), { detail: "id-ghost", note: { ref: "id-ghost" } }]);
  await appendEntries(path, [body("abc")]);
  await Deno.writeTextFile(
    path,
    '{"score": NaN, "violation": {"id": "id-nan"}, "list": [{"id": "id-in-list"}], "hash": "h"}\n',
    { append: true },
  );
  const ids = await findingIdsInTail(path);
  // Only an object's `id`: not a string that happens to equal an id, nor a part of one.
  assertEquals(ids, new Set(["id-a", "id-abc", "id-nan"]));
  assert(!ids.has("id-ab"), "a part of an id matched");
});

Deno.test("findingIdsInTail skips a torn last line", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  await appendEntries(path, [body("a")]);
  await Deno.writeTextFile(path, '{"violation": {"id": "id-torn"}, "hash": "', { append: true });
  assertEquals(await findingIdsInTail(path), new Set(["id-a"]));
});

Deno.test("findingIdsInTail reads only the last maxBytes and skips the line they cut", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "ledger.jsonl");
  const first = await appendEntries(path, [body("a")]);
  const second = await appendEntries(path, [body("b")]);
  const third = await appendEntries(path, [body("c")]);
  const [b, c] = [second.bytes, third.bytes];
  assert(first.bytes > 0);
  // The window starting exactly at a line's start takes that line; a byte less cuts it.
  assertEquals(await findingIdsInTail(path, { maxBytes: b + c }), new Set(["id-b", "id-c"]));
  assertEquals(await findingIdsInTail(path, { maxBytes: b + c - 1 }), new Set(["id-c"]));
  assertEquals(await findingIdsInTail(path, { maxBytes: c }), new Set(["id-c"]));
  assertEquals(await findingIdsInTail(path, { maxBytes: c - 1 }), new Set());
  assertEquals(
    await findingIdsInTail(path, { maxBytes: 1 << 20 }),
    new Set(["id-a", "id-b", "id-c"]),
  );
});
