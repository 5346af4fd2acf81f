/** The command line as users run it: main.ts in a separate process. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { MAIN, python, type Ran, ROOT, runCli, sandboxFlags, tempDir } from "../support/helpers.ts";
import { appendEntries } from "../../lib/ledger/append.ts";
import { writeStatus } from "../../lib/service/status.ts";
import { main } from "../../lib/cli/main.ts";

const EXAMPLE = join(ROOT, "examples", "legacy-session.jsonl");

Deno.test("--version prints the version, the Deno version and the target", async () => {
  const r = await runCli(["--version"]);
  assertEquals(r.code, 0);
  const meta = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assertEquals(
    r.stdout.trim(),
    `moses-coordinator ${meta.version} (deno ${Deno.version.deno}, ${Deno.build.target})`,
  );
});

Deno.test("every command has --help, and bad usage exits 2 with a pointer to it", async () => {
  for (const cmd of ["run", "replay", "verify", "status"]) {
    const r = await runCli([cmd, "--help"]);
    assertEquals(r.code, 0, cmd);
    assertStringIncludes(r.stdout, `Usage: moses-coordinator ${cmd}`);
  }
  const cases: [string[], string][] = [
    [[], "Usage: moses-coordinator <command>"],
    [["launch"], "Unknown command: launch"],
    [["verify", "--bogus"], "Run 'moses-coordinator verify --help'"],
    [["replay"], "replay takes one FILE"],
    [["run", "--log-format", "xml"], "--log-format must be text or json"],
    [["run", "--gateway", "http://x"], "--gateway must be a ws:// or wss:// URL"],
  ];
  for (const [args, msg] of cases) {
    const r = await runCli(args);
    assertEquals(r.code, 2, args.join(" "));
    assertStringIncludes(r.stdout + r.stderr, msg);
  }
});

Deno.test("replay prints each violation of the example recording with its line", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const r = await runCli(["replay", EXAMPLE], {
    cwd: dir,
    flags: sandboxFlags().concat(`--allow-read=${EXAMPLE}`),
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim().split("\n"), [
    "line 5: Sequence violation in conversation review-7: observer responded, expected secondary",
    "line 9: Sequence violation in conversation triage-3: secondary responded, expected primary",
    "line 14: Sequence violation in conversation triage-3: secondary responded, expected observer",
    "3 violations in 15 frames (13 observations, 2 frames skipped, 1 from agents outside the sequence)",
  ]);
});

Deno.test("replay reads OpenClaw event frames too, counting each turn once", async () => {
  const r = await runCli(["replay", join(ROOT, "examples", "openclaw-session.jsonl")]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim().split("\n"), [
    "line 7: Sequence violation in conversation group-7: observer responded, expected secondary",
    "line 19: Sequence violation in conversation research-2: secondary responded, expected primary",
    "2 violations in 22 frames (5 observations, 6 repeated announcements of a turn, " +
    "11 frames skipped, 0 from agents outside the sequence)",
  ]);
});

Deno.test("replay --json gives violations and counters; stdin works as -", async () => {
  const input = ['{"type":"session_update","session_id":"s","agent":"observer"}', "garbage"].join(
    "\n",
  );
  const r = await runCli(["replay", "-", "--json"], { stdin: input });
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assertEquals(out.violations.length, 1);
  assertEquals(out.violations[0].line, 1);
  assertEquals(out.violations[0].expected, "primary");
  assertEquals(out.counters.skipped.not_json, 1);
});

Deno.test("replay --ledger appends the violations as lines the Python verifier accepts", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const ledger = join(dir, "audits/moses/audit_ledger.jsonl");
  await Deno.mkdir(join(dir, "audits/moses"), { recursive: true });
  await python(["log", ledger, "--detail", "written before"]);
  const r = await runCli(["replay", EXAMPLE, "--ledger", "audits/moses/audit_ledger.jsonl"], {
    cwd: dir,
    flags: sandboxFlags().concat(`--allow-read=${EXAMPLE}`),
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "Appended 3 lines to audits/moses/audit_ledger.jsonl");
  assertEquals((await python(["verify", ledger])).stdout.trim(), "OK 4");
});

Deno.test("replay uses the state directory's role map", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.mkdir(join(dir, "governance"));
  await Deno.writeTextFile(
    join(dir, "governance/coordinator.jsonc"),
    '{ roles: { alice: "primary", bob: "observer" } }',
  );
  const input = ["alice", "bob"].map((a) =>
    JSON.stringify({ type: "session_update", session_id: "x", agent: a })
  )
    .join("\n");
  const r = await runCli(["replay", "-"], { cwd: dir, flags: sandboxFlags(), stdin: input });
  assertStringIncludes(
    r.stdout,
    "line 2: Sequence violation in conversation x: bob (observer) responded, expected secondary",
  );
});

Deno.test("replay of a file that cannot be read exits 66", async () => {
  const r = await runCli(["replay", "/nonexistent/recording.jsonl"]);
  assertEquals(r.code, 66);
  assertStringIncludes(r.stderr, "Cannot read recording /nonexistent/recording.jsonl");
});

Deno.test("verify exits 0 on an intact ledger and 1 with line numbers on a broken one", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const ledger = join(dir, "audits/moses/audit_ledger.jsonl");
  await Deno.mkdir(join(dir, "audits/moses"), { recursive: true });
  await appendEntries(ledger, [{ detail: "one" }, { detail: "two" }, { detail: "three" }]);
  const ok = await runCli(["verify"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, "Ledger intact: 3 entries");
  const text = await Deno.readTextFile(ledger);
  await Deno.writeTextFile(ledger, text.replace('"two"', '"2"'));
  const bad = await runCli(["verify"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stdout, "line 2: hash_mismatch");
  assertStringIncludes(bad.stdout, "Ledger broken: 1 problem in 3 entries");
  const json = await runCli(["verify", "--json"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(json.code, 1);
  const report = JSON.parse(json.stdout);
  assertEquals([report.ok, report.problems[0].line, report.problems[0].kind], [
    false,
    2,
    "hash_mismatch",
  ]);
});

Deno.test("verify of a missing ledger exits 66 and says where it looked", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const r = await runCli(["verify"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(r.code, 66);
  assertStringIncludes(r.stderr, "Cannot verify ledger audits/moses/audit_ledger.jsonl");
});

Deno.test("status explains a missing status file and shows a written one", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const none = await runCli(["status"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(none.code, 66);
  assertStringIncludes(none.stderr, "the coordinator has not run in this state directory");
  await Deno.mkdir(join(dir, "audits/moses/coordinator"), { recursive: true });
  await writeStatus(join(dir, "audits/moses/coordinator/status.json"), {
    version: "0.1.0",
    pid: 1,
    startedAt: "2026-11-21T12:00:00.000Z",
    updatedAt: "2026-11-21T12:00:00.000Z",
    state: "DEGRADED",
    reasons: ["ledger not writable: disk full"],
    gateway: { url: "ws://127.0.0.1:18789", protocol: "legacy", connects: 1, disconnects: 0 },
    enforcement: { enabled: true },
    counters: {
      frames: 10,
      observations: 9,
      violations: 2,
      unknownAgents: 0,
      notEnforced: 0,
      skipped: {
        not_json: 1,
        not_object: 0,
        other_type: 0,
        missing_field: 0,
        bad_type: 0,
        no_conversation: 0,
        too_large: 0,
        duplicate: 0,
      },
    },
    conversations: { tracked: 3, evictedIdle: 0, evictedOverCap: 0 },
    ledger: { path: "audits/moses/audit_ledger.jsonl", written: 1, pending: 1, dropped: 0 },
  });
  // No daemon holds the lock and the report is not a last one: the daemon is gone.
  const text = await runCli(["status"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(text.code, 13);
  assertStringIncludes(text.stdout, "State:          GONE");
  assertStringIncludes(text.stdout, "said DEGRADED");
  assertStringIncludes(text.stdout, "ledger not writable: disk full");
  assertStringIncludes(text.stdout, "2 detected, 1 written, 1 pending");
  const json = await runCli(["status", "--json"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(JSON.parse(json.stdout).counters.frames, 10);
});

Deno.test("verify checks a ledger too large for one pass under the coordinator's own permissions", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const ledger = join(dir, "audits/moses/audit_ledger.jsonl");
  await Deno.mkdir(join(dir, "audits/moses"), { recursive: true });
  const bodies = Array.from(
    { length: 30_000 },
    (_, i) => ({ detail: `entry ${i} ${"x".repeat(600)}` }),
  );
  for (let i = 0; i < bodies.length; i += 5000) {
    await appendEntries(ledger, bodies.slice(i, i + 5000));
  }
  assert((await Deno.stat(ledger)).size > 16 * 1024 * 1024);
  const r = await runCli(["verify", "--json"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertEquals(JSON.parse(r.stdout).entries, 30_000);
});

Deno.test("replay --ledger makes the ledger's directory (0700) in a state directory without one", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const r = await runCli(["replay", EXAMPLE, "--ledger", "audits/moses/audit_ledger.jsonl"], {
    cwd: dir,
    flags: sandboxFlags().concat(`--allow-read=${EXAMPLE}`),
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "Appended 3 lines to audits/moses/audit_ledger.jsonl");
  assertEquals((await Deno.stat(join(dir, "audits/moses"))).mode! & 0o777, 0o700);
  assertEquals((await Deno.stat(join(dir, "audits"))).mode! & 0o777, 0o700);
  assertEquals(
    (await python(["verify", join(dir, "audits/moses/audit_ledger.jsonl")])).stdout.trim(),
    "OK 3",
  );
});

Deno.test("replay refused a grant exits 77 and says which grant and how to get it", async () => {
  await using cwdTmp = await tempDir();
  const cwd = cwdTmp.path;
  await using otherTmp = await tempDir();
  const other = otherTmp.path;
  const real = await Deno.realPath(cwd);
  // The recording is outside the set's read grant.
  const rec = await runCli(["replay", EXAMPLE], { cwd, flags: sandboxFlags() });
  assertEquals(rec.code, 77, rec.stderr);
  assertStringIncludes(rec.stderr, `Read access to ${EXAMPLE} is not granted`);
  assertStringIncludes(rec.stderr, `replay - < ${EXAMPLE}`);
  assert(!rec.stderr.includes("run again with the --allow-read flag"), rec.stderr);

  // The state directory is not the working directory: the config cannot be read.
  const cfg = await runCli(["replay", "-", "--state-dir", other], {
    cwd,
    flags: sandboxFlags(),
    stdin: "",
  });
  assertEquals(cfg.code, 77, cfg.stderr);
  assertStringIncludes(
    cfg.stderr,
    `Read access to ${join(other, "governance/coordinator.jsonc")} is not granted`,
  );
  assertStringIncludes(cfg.stderr, `relative to the working directory (${real})`);
  assertStringIncludes(cfg.stderr, `run this command in ${other}`);

  // A ledger outside the write grant.
  const frame = JSON.stringify({ type: "session_update", session_id: "s", agent: "observer" });
  const led = await runCli(["replay", "-", "--ledger", "elsewhere/ledger.jsonl"], {
    cwd,
    flags: sandboxFlags(),
    stdin: frame,
  });
  assertEquals(led.code, 77, led.stderr);
  assertStringIncludes(led.stderr, `access to ${join(real, "elsewhere")}`);
  assertStringIncludes(led.stderr, "use a --ledger under audits/moses");
});

/** Runs the CLI (all permissions, empty stdin) and kills it if it is still running after 30 s. */
async function runBounded(args: string[]): Promise<Ran> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("--state-dir naming a missing directory, or a file, says so for every command", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const missing = join(dir, "no-such-dir");
  const file = join(dir, "a-file");
  await Deno.writeTextFile(file, "");
  const commands: [string[], number][] = [
    [["run"], 0],
    [["replay", "-"], 66],
    [["verify"], 66],
    [["status"], 66],
  ];
  for (const [args, code] of commands) {
    // Unfixed, run would make the directory and start watching: the time limit ends it.
    const r = await runBounded([...args, "--state-dir", missing]);
    assertEquals(r.code, code, `${args[0]}: ${r.stderr}`);
    assertStringIncludes(
      r.stderr,
      `Cannot use state directory ${missing}: it does not exist; create it or pass the ` +
        "OpenClaw state directory",
    );
    assert(!r.stderr.includes("pass --state-dir"), r.stderr);
    const f = await runBounded([...args, "--state-dir", file]);
    assertEquals(f.code, code, `${args[0]}: ${f.stderr}`);
    assertStringIncludes(f.stderr, `Cannot use state directory ${file}: it is not a directory`);
  }
  // run must not have made the directory it was pointed at.
  await assertRejects(() => Deno.stat(missing), Deno.errors.NotFound);
});

/** Runs the CLI in this process, collecting what it prints. */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, {
    out: (t) => void (out += t + "\n"),
    err: (t) => void (err += t + "\n"),
    errIsTerminal: () => false,
    errRaw: (t) => void (err += t),
    stdin: () => new Blob([]).stream(),
  });
  return { code, out, err };
}

/** The `--flags` a usage line or an option list names. */
function flagsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]))].sort();
}

Deno.test("each command's --help, the README's command table and the options the code takes agree", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const block = readme.split("## Commands")[1]!.split("```")[1]!;
  const table = new Map<string, string[]>();
  for (const line of block.split("\n")) {
    const m = /^moses-coordinator ([a-z]+)\s*(.*)$/.exec(line.trim());
    if (m) table.set(m[1]!, flagsIn(m[2]!));
  }
  const mainHelp = (await inProcess(["--help"])).out;
  const listed = [
    ...mainHelp.split("Commands:")[1]!.split("Options:")[0]!.matchAll(/^ {2}([a-z]+)/gm),
  ]
    .map((m) => m[1]!);
  assertEquals([...table.keys()].sort(), [...listed].sort(), "README table vs --help commands");
  const known = new Set<string>(["--help", "--version"]);
  const helps = new Map<string, string>();
  for (const command of listed) {
    const help = await inProcess([command, "--help"]);
    assertEquals(help.code, 0, command);
    helps.set(command, help.out);
    for (const f of flagsIn(help.out)) known.add(f);
    for (const f of table.get(command)!) known.add(f);
  }
  for (const command of listed) {
    const help = helps.get(command)!;
    const options = flagsIn(help.split("\nOptions:")[1] ?? "").filter((f) => f !== "--help");
    const usage = flagsIn(help.split("\n")[0]!);
    assertEquals(table.get(command), options, `${command}: README table vs --help options`);
    if (usage.length > 0) assertEquals(usage, options, `${command}: usage line vs options`);
    // What the code accepts: every flag known anywhere, tried on this command.
    for (const flag of known) {
      if (flag === "--help" || flag === "--version") continue;
      const r = await inProcess([command, flag, "x", "--help"]);
      assertEquals(
        r.code === 0,
        options.includes(flag),
        `${command} ${flag}: accepted ${r.code === 0}, documented ${options.includes(flag)}`,
      );
    }
  }
});

Deno.test("replay judges the tool calls of the OpenClaw example under the state directory's posture", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const example = join(ROOT, "examples", "openclaw-tool-calls.jsonl");
  await Deno.mkdir(join(dir, "governance"));
  await Deno.writeTextFile(
    join(dir, "governance/state.json"),
    JSON.stringify({ mode: "high-integrity", posture: "scout", role: "primary" }),
  );
  const r = await runCli(
    ["replay", example, "--json", "--ledger", "audits/moses/audit_ledger.jsonl"],
    { cwd: dir, flags: sandboxFlags().concat(`--allow-read=${example}`) },
  );
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { violations: { detail: string }[] };
  // exec ls is read; the Tool Search write and web_fetch, exec rm, and the two calls the
  // read-only session refused are not.
  assertEquals(out.violations.length, 5);
  assert(out.violations.every((v) => v.detail.startsWith("Posture violation")));
  const ledger = join(dir, "audits/moses/audit_ledger.jsonl");
  assertEquals((await python(["verify", ledger])).stdout.trim(), "OK 5");
  const lines = (await Deno.readTextFile(ledger)).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(
    lines.map((l) => [l.tool_call.tool, l.tool_call.status]),
    [
      ["write", "executed"],
      ["web_fetch", "executed"],
      ["exec", "executed"],
      ["write", "attempted"],
      ["exec", "attempted"],
    ],
  );
  // Replayed findings say so, as sequence findings do.
  assert(lines.every((l) => l.tool_call.replay?.line > 0));
});
