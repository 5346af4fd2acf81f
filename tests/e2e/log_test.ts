/**
 * `log` and `report` under the declared permission set, in the state directory, over a
 * ledger written by the coordinator (replay --ledger) and the real Python writer, interleaved.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import {
  ledgerPath,
  MAIN,
  python,
  ROOT,
  runCli,
  sandboxFlags,
  tempDir,
  waitFor,
} from "../support/helpers.ts";
import type { LedgerReport } from "../../lib/cli/report.ts";

const RECORDING = await Deno.readTextFile(join(ROOT, "examples", "legacy-session.jsonl"));

/** A state directory whose ledger interleaves the Python writer and the coordinator. */
async function interleaved(dir: string): Promise<string> {
  const ledger = ledgerPath(dir);
  await Deno.mkdir(join(dir, "audits", "moses"), { recursive: true });
  assertEquals((await python(["log", ledger, "--detail", "py first", "--count", "2"])).code, 0);
  const replayed = await runCli(
    ["replay", "-", "--ledger", "audits/moses/audit_ledger.jsonl"],
    { cwd: dir, flags: sandboxFlags(), stdin: RECORDING },
  );
  assertEquals(replayed.code, 0, replayed.stderr);
  assertEquals(
    (await python([
      "log",
      ledger,
      "--detail",
      "py fail",
      "--outcome",
      "FAIL",
      "--agent",
      "harness",
    ]))
      .code,
    0,
  );
  assertEquals((await python(["log", ledger, "--detail", "py last"])).code, 0);
  assertEquals((await python(["verify", ledger])).code, 0);
  return ledger;
}

const cli = (dir: string, args: string[]) => runCli(args, { cwd: dir, flags: sandboxFlags() });

Deno.test("log shows every writer's entries in order, filters them, and reads -n from the end", async () => {
  await using tmp = await tempDir();
  const ledger = await interleaved(tmp.path);
  const lines = (await Deno.readTextFile(ledger)).trimEnd().split("\n").map((l) => JSON.parse(l));
  const all = await cli(tmp.path, ["log"]);
  assertEquals(all.code, 0, all.stderr);
  const out = all.stdout.trimEnd().split("\n");
  assertEquals(out.length, lines.length);
  out.forEach((o, i) => assertStringIncludes(o, String(lines[i].detail)));
  assertStringIncludes(out[0]!, "python-writer");
  assert(out.some((o) => o.includes("coordinator") && o.includes("sequence_violation")));
  assert(!all.stdout.includes("\x1b["), "no colour when stdout is not a terminal");

  const json = await cli(tmp.path, ["log", "--json"]);
  assertEquals(json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l)), lines);

  const coordinator = await cli(tmp.path, ["log", "--agent", "coordinator", "--json"]);
  const picked = coordinator.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(picked, lines.filter((l) => l.agent === "coordinator"));
  assert(picked.length >= 2);

  const conversation = String(picked[0].violation.conversation);
  const byConv = await cli(tmp.path, ["log", "--conversation", conversation, "--json"]);
  assertEquals(
    byConv.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).hash),
    lines.filter((l) => l.violation?.conversation === conversation).map((l) => l.hash),
  );
  const fails = await cli(tmp.path, ["log", "--outcome", "fail", "--since", "1h", "--json"]);
  assertEquals(fails.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).detail), ["py fail"]);
  const future = await cli(tmp.path, ["log", "--since", "2999-01-01"]);
  assertEquals([future.code, future.stdout], [0, ""]);

  const tail = await cli(tmp.path, ["log", "-n", "2", "--json"]);
  assertEquals(tail.stdout.trimEnd().split("\n").map((l) => JSON.parse(l)), lines.slice(-2));
});

Deno.test("log and report: a non-JSON line and a torn last line are shown as such with their line numbers", async () => {
  await using tmp = await tempDir();
  const ledger = await interleaved(tmp.path);
  const before = (await Deno.readTextFile(ledger)).trimEnd().split("\n").length;
  await Deno.writeTextFile(ledger, "this is not json\n", { append: true });
  assertEquals((await python(["log", ledger, "--detail", "after the bad line"])).code, 1);
  await Deno.writeTextFile(ledger, '{"timestamp": "2026-11-21T12:0', { append: true });

  const all = await cli(tmp.path, ["log"]);
  assertEquals(all.code, 0, all.stderr);
  assertStringIncludes(all.stdout, `line ${before + 1}: not valid: not JSON: this is not json`);
  assertStringIncludes(all.stdout, `line ${before + 2}: not valid: the last line is incomplete`);

  // From the end, the line numbers are counted only because invalid lines are shown.
  const tail = await cli(tmp.path, ["log", "-n", "2", "--json"]);
  assertEquals(tail.stdout.trimEnd().split("\n").map((l) => JSON.parse(l)), [
    { line: before + 1, invalid: "not_json", text: "this is not json" },
    { line: before + 2, invalid: "torn", text: '{"timestamp": "2026-11-21T12:0' },
  ]);

  const report = await cli(tmp.path, ["report", "--json"]);
  assertEquals(report.code, 0, report.stderr);
  const r = JSON.parse(report.stdout) as LedgerReport;
  assertEquals(r.chain.ok, false);
  assertEquals(r.invalidLines, 2);
  assertEquals(r.chain.problems.map((p) => [p.line, p.kind]), [
    [before + 1, "not_json"],
    [before + 2, "torn_tail"],
  ]);
  assertEquals(r.entries, before);
});

Deno.test("report counts the interleaved ledger, computes the health figures and checks the chain in one pass", async () => {
  await using tmp = await tempDir();
  const ledger = await interleaved(tmp.path);
  const lines = (await Deno.readTextFile(ledger)).trimEnd().split("\n").map((l) => JSON.parse(l));
  const run = await cli(tmp.path, ["report", "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as LedgerReport;
  assertEquals(r.chain.ok, true);
  assertEquals(r.chain.head, lines.at(-1).hash);
  assertEquals(r.entries, lines.length);
  const violations = lines.filter((l) => l.action === "sequence_violation").length;
  assertEquals(Object.fromEntries(r.byAction.top), { test: 4, sequence_violation: violations });
  assertEquals(Object.fromEntries(r.byAgent.top), {
    "python-writer": 3,
    harness: 1,
    coordinator: violations,
  });
  assertEquals(Object.fromEntries(r.byOutcome.top), { logged: lines.length - 1, FAIL: 1 });
  assertEquals(r.health.faults, 1);
  assertEquals(r.health.faultRate, 1 / lines.length);
  assertEquals(r.health.lastFaults.map((f) => f.line), [lines.length - 1]);
  const today = lines[0].timestamp.slice(0, 10);
  assertEquals(r.findingsPerDay, [[today, violations]]);

  const text = await cli(tmp.path, ["report"]);
  assertStringIncludes(text.stdout, "Chain: intact");
  assertStringIncludes(text.stdout, `Health: ${r.health.verdict}`);
  assertStringIncludes(text.stdout, `${today}  █`);

  const since = await cli(tmp.path, ["report", "--since", "2999-01-01", "--json"]);
  assertEquals((JSON.parse(since.stdout) as LedgerReport).entries, 0);
  const bad = await cli(tmp.path, ["report", "--since", "last tuesday"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, 'Invalid time "last tuesday"');
  assertStringIncludes(bad.stderr, "moses-coordinator report --help");
});

Deno.test("log --follow shows a line the Python writer appends within a second, follows a truncation and a rotation, and exits 0 on Ctrl-C", async () => {
  await using tmp = await tempDir();
  const ledger = await interleaved(tmp.path);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...sandboxFlags(), MAIN, "log", "--follow", "-n", "1"],
    cwd: tmp.path,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stdout = "";
  let stderr = "";
  const reading = Promise.all([
    (async () => {
      const dec = new TextDecoder();
      for await (const c of child.stdout) stdout += dec.decode(c, { stream: true });
    })(),
    (async () => {
      const dec = new TextDecoder();
      for await (const c of child.stderr) stderr += dec.decode(c, { stream: true });
    })(),
  ]);
  try {
    await waitFor("the last entry", () => stdout.includes("py last"), 30_000);
    assertEquals((await python(["log", ledger, "--detail", "appended while following"])).code, 0);
    const written = performance.now();
    await waitFor("the appended entry", () => stdout.includes("appended while following"), 30_000);
    const latency = performance.now() - written;
    assert(latency < 1000, `seen after ${latency} ms`);

    await Deno.truncate(ledger, 0);
    assertEquals((await python(["log", ledger, "--detail", "after the cut"])).code, 0);
    await waitFor("the entry after the cut", () => stdout.includes("after the cut"), 30_000);
    assertStringIncludes(stderr, "was cut back");

    await Deno.rename(ledger, `${ledger}.1`);
    assertEquals((await python(["log", ledger, "--detail", "in the new file"])).code, 0);
    await waitFor(
      "the entry in the rotated-in file",
      () => stdout.includes("in the new file"),
      30_000,
    );
    assertStringIncludes(stderr, "was replaced (rotated)");
  } finally {
    child.kill("SIGINT");
  }
  const status = await child.status;
  await reading;
  assertEquals(status.code, 0, stderr);
  assertEquals(stdout.split("\n").filter((l) => l.includes("appended while following")).length, 1);
});

Deno.test("log: a missing ledger is an input that cannot be read; bad -n is usage", async () => {
  await using tmp = await tempDir();
  const missing = await cli(tmp.path, ["log"]);
  assertEquals(missing.code, 66);
  assertStringIncludes(missing.stderr, "No ledger at audits/moses/audit_ledger.jsonl");
  const bad = await cli(tmp.path, ["log", "-n", "ten"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "-n must be a whole number of lines, not ten");
  const help = await runCli(["log", "--help"]);
  assertStringIncludes(help.stdout, "-n, --lines N");
  assertStringIncludes(help.stdout, "-f, --follow");
});

/** Runs `log -n 1` with its stdout on a pseudo-terminal (util-linux `script`). */
async function onTerminal(dir: string, env: Record<string, string>): Promise<string> {
  const cmd = [Deno.execPath(), "run", ...sandboxFlags(), MAIN, "log", "-n", "1"]
    .map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", cmd, "/dev/null"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    // Only what is named: a NO_COLOR in the test's own environment must not leak in.
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", TERM: "xterm", ...env },
  }).output();
  return new TextDecoder().decode(out.stdout);
}

function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "log colours on a terminal, and not with NO_COLOR",
  ignore: !hasScript(),
  fn: async () => {
    await using tmp = await tempDir();
    await interleaved(tmp.path);
    const coloured = await onTerminal(tmp.path, {});
    assertStringIncludes(coloured, "py last");
    assert(coloured.includes("\x1b["), JSON.stringify(coloured));
    const plain = await onTerminal(tmp.path, { NO_COLOR: "1" });
    assertStringIncludes(plain, "py last");
    assert(!plain.includes("\x1b["), JSON.stringify(plain));
  },
});
