/**
 * `run` as users run it: a separate process under the coordinator's permission flags,
 * in a temporary state directory, against the scripted legacy gateway.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { LegacyGateway } from "../support/legacy_gateway.ts";
import {
  conversations,
  Daemon,
  ledgerLines,
  ledgerPath,
  PY_LEDGER,
  python,
  runCli,
  sandboxFlags,
  statusOf,
  tempDir,
  waitFor,
} from "../support/helpers.ts";
import { appendEntries } from "../../lib/ledger/append.ts";
import { saveSnapshot } from "../../lib/service/snapshot.ts";
import { findingEntry } from "../../lib/ledger/entries.ts";
import { violationFinding } from "../support/findings.ts";
import { DEFAULT_GOVERNANCE } from "../../lib/rules/governance.ts";

const update = LegacyGateway.update;

/**
 * Starts a gateway and a sandboxed daemon in a fresh state directory holding `files` (paths
 * relative to it, written before the daemon starts). Disposing of it kills the daemon, stops
 * the gateway and removes the directory.
 */
async function setup(extraArgs: string[] = [], files: Record<string, string> = {}) {
  const tmp = await tempDir();
  const dir = tmp.path;
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  }
  const gw = new LegacyGateway().start();
  const daemon = new Daemon(["--gateway", gw.url, "--protocol", "legacy", ...extraArgs], {
    cwd: dir,
    flags: sandboxFlags(gw.port),
  });
  await waitFor("the coordinator to subscribe", () => gw.subscribers.size === 1, 15_000);
  return {
    dir,
    gw,
    daemon,
    async [Symbol.asyncDispose]() {
      await daemon.stop("SIGKILL").catch(() => {});
      await gw.stop();
      await tmp[Symbol.asyncDispose]();
    },
  };
}

Deno.test("run subscribes with the seed's frame", async () => {
  await using run = await setup();
  const { gw } = run;
  assertEquals(JSON.parse(gw.received[0]!), { type: "subscribe", events: ["session_update"] });
});

Deno.test("by default a gateway that stays silent is taken for a legacy one and subscribed to", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const gw = new LegacyGateway().start();
  const daemon = new Daemon(["--gateway", gw.url], { cwd: dir, flags: sandboxFlags(gw.port) });
  try {
    await waitFor("the legacy subscription", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("auto", "observer"));
    await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
    await waitFor(
      "legacy in status",
      async () => (await statusOf(dir))?.gateway.protocol === "legacy",
    );
    assertEquals(conversations(await ledgerLines(dir)), ["auto"]);
  } finally {
    await daemon.stop();
    await gw.stop();
  }
});

Deno.test("run records an out-of-turn answer as one verified ledger line and logs it", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  gw.send(update("group-7", "Primary"));
  gw.send(update("group-7", "observer"));
  await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
  const lines = await ledgerLines(dir);
  assertEquals(conversations(lines), ["group-7"]);
  const [line] = lines;
  assertEquals(line!.action, "sequence_violation");
  assertEquals(line!.outcome, "logged");
  assertEquals(
    line!.detail,
    "Sequence violation in conversation group-7: observer responded, expected secondary",
  );
  const { id, ...violation } = line!.violation as Record<string, unknown>;
  assert(/^[0-9a-f-]{36}$/.test(String(id)), `violation id ${id}`);
  assertEquals(violation, {
    conversation: "group-7",
    agent: "observer",
    role: "observer",
    expected: "secondary",
    sequence: ["primary", "secondary", "observer"],
    protocol: "legacy",
  });
  assertEquals((await python(["verify", ledgerPath(dir)])).stdout.trim(), "OK 1");
  const started = Date.now();
  const st = await daemon.stop("SIGTERM");
  assertEquals(st.code, 0, daemon.stderr);
  assert(Date.now() - started < 5000, "SIGTERM took too long");
  assertStringIncludes(daemon.stderr, "WARN  Sequence violation in conversation group-7");
  assertStringIncludes(daemon.stderr, "INFO  connected");
  const s = await statusOf(dir);
  assertEquals(s?.state, "STOPPED");
  assertEquals(s?.counters.violations, 1);
  assertEquals(s?.ledger.written, 1);
});

Deno.test("a clean cycle writes nothing to the ledger", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  for (const a of ["primary", "secondary", "observer", "primary", "secondary", "observer"]) {
    gw.send(update("clean", a));
  }
  // A marker violation in another conversation shows the frames before it were processed.
  gw.send(update("marker", "observer"));
  await waitFor("the marker line", async () => (await ledgerLines(dir)).length >= 1);
  // Stopping flushes everything found: a line the clean cycle made would be written by now.
  assertEquals((await daemon.stop()).code, 0);
  assertEquals(conversations(await ledgerLines(dir)), ["marker"]);
});

Deno.test("frames without a conversation, malformed frames and other agents are counted in status", async () => {
  await using run = await setup();
  const { dir, gw } = run;
  gw.send(update(undefined, "observer"));
  gw.send("{not json");
  gw.send({ type: "heartbeat" });
  gw.send(update("g", "narrator"));
  gw.send(update("g", "observer")); // a real violation, to know the frames above were read
  await waitFor(
    "the status counters",
    async () => ((await statusOf(dir))?.counters.frames ?? 0) >= 5,
  );
  const s = (await statusOf(dir))!;
  assertEquals(s.counters.frames, 5);
  assertEquals(s.counters.skipped.no_conversation, 1);
  assertEquals(s.counters.skipped.not_json, 1);
  assertEquals(s.counters.skipped.other_type, 1);
  assertEquals(s.counters.unknownAgents, 1);
  assertEquals(s.state, "CONNECTED");
  const lines = await ledgerLines(dir);
  assertEquals(lines.length, 1); // the frame without a conversation was not merged into another
});

Deno.test("run reconnects after the gateway restarts and keeps each conversation's place", async () => {
  await using run = await setup();
  const { dir, gw } = run;
  gw.send(update("g", "primary"));
  await waitFor(
    "the primary to be counted",
    async () => ((await statusOf(dir))?.counters.frames ?? 0) >= 1,
  );
  const port = gw.port;
  await gw.stop();
  await waitFor(
    "DISCONNECTED in status",
    async () => (await statusOf(dir))?.state === "DISCONNECTED",
  );
  gw.start(port);
  await waitFor("a new subscription", () => gw.subscribers.size === 1, 20_000);
  gw.send(update("g", "observer"));
  await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
  assertEquals(conversations(await ledgerLines(dir)), ["g"]);
  assertEquals(
    (await ledgerLines(dir))[0]!.detail,
    "Sequence violation in conversation g: observer responded, expected secondary",
  );
  await waitFor(
    "the reconnect in status",
    async () => ((await statusOf(dir))?.gateway.connects ?? 0) >= 2,
  );
  assertEquals((await statusOf(dir))!.gateway.connects, 2);
  assertEquals((await statusOf(dir))!.gateway.disconnects, 1);
});

Deno.test("conversation state survives a restart of the coordinator", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const gw = new LegacyGateway().start();
  try {
    const first = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
      cwd: dir,
      flags: sandboxFlags(gw.port),
    });
    await waitFor("subscription", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("g", "primary"));
    gw.send(update("g", "secondary"));
    await waitFor("two frames", async () => ((await statusOf(dir))?.counters.frames ?? 0) >= 2);
    assertEquals((await first.stop()).code, 0);
    await waitFor("the first to disconnect", () => gw.subscribers.size === 0);
    const second = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
      cwd: dir,
      flags: sandboxFlags(gw.port),
    });
    await waitFor("subscription", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("g", "secondary")); // out of turn only if the restart remembered the secondary
    await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
    assertEquals(conversations(await ledgerLines(dir)), ["g"]);
    assertEquals(
      (await ledgerLines(dir))[0]!.detail,
      "Sequence violation in conversation g: secondary responded, expected observer",
    );
    assertEquals((await second.stop()).code, 0);
  } finally {
    await gw.stop();
  }
});

Deno.test("broadcast mode in state.json switches the rule off and status says why", async () => {
  await using run = await setup([], {
    "governance/state.json": '{"role": "broadcast", "mode": "creative"}',
  });
  const { dir, gw } = run;
  gw.send(update("g", "observer"));
  await waitFor("the frame", async () => ((await statusOf(dir))?.counters.notEnforced ?? 0) >= 1);
  const s = (await statusOf(dir))!;
  assertEquals(s.enforcement.enabled, false);
  assertStringIncludes(s.enforcement.reason!, "broadcast");
  assertEquals(await ledgerLines(dir), []);
  // Leaving broadcast mode turns the rule back on, and entries carry the new state.
  await Deno.writeTextFile(
    join(dir, "governance/state.json"),
    '{"role": "primary", "mode": "research"}',
  );
  await waitFor("enforcement on", async () => (await statusOf(dir))?.enforcement.enabled === true);
  gw.send(update("g2", "observer"));
  const violations = async () => (await ledgerLines(dir)).filter((l) => l.violation);
  await waitFor("a violation", async () => (await violations()).length >= 1);
  assertEquals(conversations(await violations()), ["g2"]);
  assertEquals((await violations())[0]!.mode, "research");
  // The change itself is in the ledger: one governance_change, from and to.
  const changes = async () =>
    (await ledgerLines(dir)).filter((l) => l.action === "governance_change");
  const [change] = await changes();
  const c = change!.governance_change as { from: { role: string }; to: { role: string } };
  assertEquals([c.from.role, c.to.role], ["broadcast", "primary"]);
  // Replaced the way editors and MO§ES do (a temporary file renamed over it): seen too,
  // under the permission set, which grants the file and not governance/.
  const state = join(dir, "governance/state.json");
  await Deno.writeTextFile(`${state}.tmp`, '{"role": "broadcast", "mode": "creative"}');
  await Deno.rename(`${state}.tmp`, state);
  await waitFor(
    "enforcement off",
    async () => (await statusOf(dir))?.enforcement.enabled === false,
  );
  await Deno.writeTextFile(`${state}.tmp`, '{"role": "primary", "mode": "research"}');
  await Deno.rename(`${state}.tmp`, state);
  await waitFor(
    "enforcement on again",
    async () => (await statusOf(dir))?.enforcement.enabled === true,
  );
  await waitFor("three changes recorded", async () => (await changes()).length === 3);
});

Deno.test("status is a health check: 0 connected, 11 not connected, 12 stopped, 13 gone", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  const status = () => runCli(["status"], { cwd: dir, flags: sandboxFlags() });
  await waitFor("CONNECTED", async () => (await statusOf(dir))?.state === "CONNECTED");
  const connected = await status();
  assertEquals(connected.code, 0, connected.stdout + connected.stderr);
  assertStringIncludes(connected.stdout, "State:          CONNECTED");
  await gw.stop();
  await waitFor("DISCONNECTED", async () => (await statusOf(dir))?.state === "DISCONNECTED");
  assertEquals((await status()).code, 11);
  assertEquals((await daemon.stop()).code, 0);
  const stopped = await status();
  assertEquals(stopped.code, 12);
  assertStringIncludes(stopped.stdout, "State:          STOPPED");
  // A daemon killed without its last report: gone, known by its lock, not by the file's age.
  const again = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
    cwd: dir,
    flags: sandboxFlags(gw.port),
  });
  try {
    await waitFor(
      "the new daemon's report",
      async () => (await statusOf(dir))?.state === "DISCONNECTED",
    );
    assertEquals((await status()).code, 11);
  } finally {
    await again.stop("SIGKILL");
  }
  const gone = await status();
  assertEquals(gone.code, 13);
  assertStringIncludes(gone.stdout, "State:          GONE");
  const json = await runCli(["status", "--json"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(json.code, 13);
  assertEquals(JSON.parse(json.stdout).daemon, "gone");
});

Deno.test("an unwritable ledger shows DEGRADED, keeps the violation, and writes it once it can", async () => {
  await using run = await setup();
  const { dir, gw } = run;
  // A directory where the ledger file should be: every open fails, whoever we run as.
  await Deno.mkdir(ledgerPath(dir));
  gw.send(update("g", "observer"));
  await waitFor("DEGRADED", async () => (await statusOf(dir))?.state === "DEGRADED");
  const s = (await statusOf(dir))!;
  assertEquals(s.ledger.pending, 1);
  assert(s.reasons.some((r) => r.startsWith("ledger not writable")), JSON.stringify(s.reasons));
  // status as a health check: running, DEGRADED.
  const degraded = await runCli(["status"], { cwd: dir, flags: sandboxFlags() });
  assertEquals(degraded.code, 10, degraded.stdout + degraded.stderr);
  assertStringIncludes(degraded.stdout, "State:          DEGRADED");
  await Deno.remove(ledgerPath(dir));
  await waitFor("the line", async () => (await ledgerLines(dir)).length >= 1, 15_000);
  await waitFor("CONNECTED again", async () => (await statusOf(dir))?.state === "CONNECTED");
  assertEquals((await python(["verify", ledgerPath(dir)])).stdout.trim(), "OK 1");
});

Deno.test("past maxPendingViolations unwritten violations are dropped, counted and shown, with one log line per burst", async () => {
  await using run = await setup([], {
    "governance/coordinator.jsonc": "{ maxPendingViolations: 3 }",
  });
  const { dir, gw, daemon } = run;
  await Deno.mkdir(ledgerPath(dir), { recursive: true });
  for (let i = 0; i < 8; i++) gw.send(update(`c${i}`, "observer"));
  await waitFor("the drops", async () => ((await statusOf(dir))?.ledger.dropped ?? 0) >= 5);
  const s = (await statusOf(dir))!;
  assertEquals(s.state, "DEGRADED");
  assertEquals(s.ledger.pending, 3);
  assert(s.reasons.includes("5 violations dropped (queue full)"), JSON.stringify(s.reasons));
  await waitFor("the drop's log line", () => daemon.stderr.includes("violation dropped"));
  // The first drop is an error at once; the other four are counted, not logged one by one.
  assertEquals(daemon.stderr.split("violation dropped").length - 1, 1);
  await Deno.remove(ledgerPath(dir));
  await waitFor("the kept lines", async () => (await ledgerLines(dir)).length >= 3, 15_000);
  const kept = conversations(await ledgerLines(dir));
  assertEquals(kept, ["c0", "c1", "c2"]);
  assertEquals((await daemon.stop()).code, 0);
  assertStringIncludes(daemon.stderr, "4 more violations dropped");
});

Deno.test("violations not yet written at shutdown are kept and written by the next run", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  await Deno.mkdir(ledgerPath(dir));
  gw.send(update("g", "observer"));
  await waitFor("pending", async () => (await statusOf(dir))?.ledger.pending === 1);
  assertEquals((await daemon.stop()).code, 0);
  await Deno.remove(ledgerPath(dir));
  const next = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
    cwd: dir,
    flags: sandboxFlags(gw.port),
  });
  await waitFor("the kept line", async () => (await ledgerLines(dir)).length >= 1, 15_000);
  assertEquals((await next.stop()).code, 0);
  assertEquals(conversations(await ledgerLines(dir)), ["g"]);
});

Deno.test("the coordinator's files are 0600 and its directories 0700", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  gw.send(update("g", "observer"));
  await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
  await daemon.stop();
  for (const d of ["audits/moses", "audits/moses/coordinator"]) {
    assertEquals((await Deno.stat(join(dir, d))).mode! & 0o777, 0o700, d);
  }
  for (
    const f of [
      "audits/moses/audit_ledger.jsonl",
      "audits/moses/coordinator/status.json",
      "audits/moses/coordinator/snapshot.json",
    ]
  ) {
    assertEquals((await Deno.stat(join(dir, f))).mode! & 0o777, 0o600, f);
  }
});

Deno.test("--log-format json writes one JSON object per line", async () => {
  await using run = await setup(["--log-format", "json"]);
  const { dir, gw, daemon } = run;
  gw.send(update("g", "observer"));
  await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
  await daemon.stop();
  const lines = daemon.stderr.trim().split("\n").map((l) => JSON.parse(l));
  const v = lines.find((l) => l.event === "violation");
  assertEquals([v.level, v.conversation, v.expected], ["warn", "g", "primary"]);
  assert(lines.some((l) => l.msg === "connected"));
});

Deno.test("a gateway address outside the permission grant stops run for good, saying so", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const daemon = new Daemon(["--gateway", "ws://127.0.0.1:18790"], {
    cwd: dir,
    flags: sandboxFlags(18789),
  });
  const st = await daemon.exited();
  // Exit 0: launchd and systemd must not restart it in a loop.
  assertEquals(st.code, 0);
  assertStringIncludes(
    daemon.stderr,
    "Network access to 127.0.0.1:18790 is not granted: --gateway ws://127.0.0.1:18790 is " +
      "outside the net grant, which allows only 127.0.0.1:18789",
  );
  assertStringIncludes(daemon.stderr, "restarting will not help until this is fixed");
  // Stopped before anything was written.
  assertEquals(await statusOf(dir), undefined);
});

Deno.test("an invalid config stops run for good and names the file and line", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.mkdir(join(dir, "governance"));
  await Deno.writeTextFile(join(dir, "governance/coordinator.jsonc"), "{\n  sequence: [,]\n}");
  const daemon = new Daemon([], { cwd: dir, flags: sandboxFlags() });
  const st = await daemon.exited();
  assertEquals(st.code, 0);
  assertStringIncludes(daemon.stderr, "Cannot read config governance/coordinator.jsonc");
  assertStringIncludes(daemon.stderr, "line 2");
  assertStringIncludes(daemon.stderr, "restarting will not help until this is fixed");
});

Deno.test("SIGTERM while another process holds the ledger lock exits promptly and keeps the violation", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  const holder = new Deno.Command("python3", {
    args: [PY_LEDGER, "log", ledgerPath(dir), "--hold", "60"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = holder.stdout.getReader();
    assertStringIncludes(new TextDecoder().decode((await reader.read()).value), "locked");
    reader.releaseLock();
    gw.send(update("locked-out", "observer"));
    await waitFor("DEGRADED: append blocked", async () => {
      const s = await statusOf(dir);
      return s?.state === "DEGRADED" &&
        s.reasons.some((r) => r.startsWith("ledger append blocked"));
    });
    const t0 = Date.now();
    assertEquals((await daemon.stop("SIGTERM")).code, 0);
    assert(Date.now() - t0 < 8000, `SIGTERM took ${Date.now() - t0} ms`);
    const snap = JSON.parse(
      await Deno.readTextFile(join(dir, "audits/moses/coordinator/snapshot.json")),
    );
    assertEquals(snap.pending.map((v: { conversation: string }) => v.conversation), ["locked-out"]);
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
  }
  // The lock is free now: the next run writes the kept violation, once.
  const next = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
    cwd: dir,
    flags: sandboxFlags(gw.port),
  });
  await waitFor("the kept line", async () => (await ledgerLines(dir)).length >= 1, 15_000);
  assertEquals((await next.stop()).code, 0);
  assertEquals((await ledgerLines(dir)).length, 1);
});

Deno.test("pending violations already in the ledger after a crash are not written again", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const gw = new LegacyGateway().start();
  try {
    const v = (id: string, conversation: string) =>
      violationFinding({
        id,
        at: Date.now(),
        protocol: "legacy",
        conversation,
        agent: "observer",
        role: "observer",
        expected: "secondary",
        sequence: ["primary", "secondary", "observer"],
      });
    const written = v("11111111-1111-4111-8111-111111111111", "written-before-crash");
    const notYet = v("22222222-2222-4222-8222-222222222222", "not-written-yet");
    await Deno.mkdir(join(dir, "audits/moses/coordinator"), { recursive: true });
    await appendEntries(ledgerPath(dir), [findingEntry(written, DEFAULT_GOVERNANCE.fields)]);
    // The snapshot a crash left behind still lists both as pending.
    await saveSnapshot(join(dir, "audits/moses/coordinator/snapshot.json"), {
      savedAt: Date.now(),
      rules: [],
      pending: () => [written, notYet],
    });
    const daemon = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
      cwd: dir,
      flags: sandboxFlags(gw.port),
    });
    await waitFor("the second line", async () => (await ledgerLines(dir)).length >= 2, 15_000);
    // Stopping flushes everything queued: a doubled line would be written by now.
    assertEquals((await daemon.stop()).code, 0);
    assertEquals(conversations(await ledgerLines(dir)), [
      "written-before-crash",
      "not-written-yet",
    ]);
  } finally {
    await gw.stop();
  }
});

Deno.test("a conversation id with a lone surrogate still makes a line Python can verify", async () => {
  await using run = await setup();
  const { dir, gw } = run;
  gw.send('{"type":"session_update","session_id":"g\\ud800","agent":"observer"}');
  await waitFor("a ledger line", async () => (await ledgerLines(dir)).length >= 1);
  assertEquals((await python(["verify", ledgerPath(dir)])).stdout.trim(), "OK 1");
  assertEquals(conversations(await ledgerLines(dir)), ["g\ufffd"]);
});

Deno.test("a config file outside the read grant stops run for good and names the missing grant", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.mkdir(join(dir, "governance"));
  await Deno.writeTextFile(join(dir, "governance/coordinator.jsonc"), "{}");
  const flags = sandboxFlags().map((f) =>
    f.startsWith("--allow-read=") ? "--allow-read=audits/moses,governance/state.json" : f
  );
  const daemon = new Daemon([], { cwd: dir, flags });
  assertEquals((await daemon.exited()).code, 0);
  assertStringIncludes(
    daemon.stderr,
    `Read access to ${await Deno.realPath(dir)}/governance/coordinator.jsonc is not granted: ` +
      "the process was not started with the declared set",
  );
  assertStringIncludes(daemon.stderr, "restarting will not help until this is fixed");
});

Deno.test("a torn last line is found at start, copied aside, cut, and recorded as ledger_recovered; verify then finds the ledger intact", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const gw = new LegacyGateway().start();
  let daemon: Daemon | undefined;
  try {
    const path = ledgerPath(dir);
    await Deno.mkdir(join(dir, "audits/moses"), { recursive: true });
    // A Python writer's line, then the start of one it did not finish (killed mid-line).
    assertEquals((await python(["log", path, "--count", "1"])).code, 0);
    const torn = '{"timestamp": "2026-11-21T12:00:00.000000+00:00", "agent": "audit';
    await Deno.writeTextFile(path, torn, { append: true });
    const before = await runCli(["verify"], { cwd: dir });
    assertEquals(before.code, 1);
    assertStringIncludes(before.stdout, "line 2: torn_tail");

    daemon = new Daemon(["--gateway", gw.url, "--protocol", "legacy"], {
      cwd: dir,
      flags: sandboxFlags(gw.port),
    });
    await waitFor(
      "the recovery entry",
      async () => (await ledgerLines(dir).catch(() => [])).length >= 2,
    );
    const [, recovered] = await ledgerLines(dir);
    assertEquals(recovered!.action, "ledger_recovered");
    assertEquals(recovered!.outcome, "recovered");
    const rec = recovered!.recovery as Record<string, unknown>;
    assertEquals(rec.bytes, torn.length);
    const kept = await Deno.readTextFile(join(dir, String(rec.kept_in)));
    assertEquals(kept, torn);
    await waitFor("the log line", () => daemon!.stderr.includes("the ledger's last line was torn"));

    await waitFor("the subscription", () => gw.subscribers.size === 1, 15_000);
    gw.send(update("t", "observer"));
    await waitFor("the violation after it", async () => (await ledgerLines(dir)).length >= 3);
    const after = await runCli(["verify"], { cwd: dir });
    assertEquals(after.code, 0, after.stdout);
    assertEquals((await python(["verify", path])).stdout.trim(), "OK 3");
  } finally {
    await daemon?.stop("SIGKILL").catch(() => {});
    await gw.stop();
  }
});

Deno.test("a Python writer killed mid-line while the coordinator waits for the lock: the torn line is cut and recorded, and the violation follows", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  const path = ledgerPath(dir);
  gw.send(update("before", "observer"));
  await waitFor("the first line", async () => (await ledgerLines(dir)).length >= 1);
  // A real Python writer (audit_stub's way: flock, json.dumps) writes half a line, fsyncs,
  // and is killed with SIGKILL still holding the lock.
  const writer = new Deno.Command("python3", {
    args: [PY_LEDGER, "log", path, "--tear", "1"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = writer.stdout.getReader();
    assertStringIncludes(new TextDecoder().decode((await reader.read()).value), "torn");
    reader.releaseLock();
    const sizeTorn = (await Deno.stat(path)).size;
    gw.send(update("during", "observer"));
    await waitFor("the append to wait for the lock", async () => {
      const s = await statusOf(dir);
      return s?.counters.violations === 2 && s.ledger.pending === 1;
    });
    writer.kill("SIGKILL");
    await writer.status;
    await writer.stdout.cancel().catch(() => {});

    await waitFor(
      "the lines after the kill",
      async () => (await ledgerLines(dir).catch(() => [])).length >= 3,
    );
    const [first, recovered, during] = await ledgerLines(dir);
    assertEquals(conversations([first!]), ["before"]);
    assertEquals(recovered!.action, "ledger_recovered");
    const rec = recovered!.recovery as { offset: number; bytes: number; kept_in: string };
    // Exactly the half line is cut, and kept.
    const firstLineBytes = new TextEncoder().encode(JSON.stringify(first)).length;
    assert(rec.offset > 0 && rec.offset + rec.bytes === sizeTorn, JSON.stringify(rec));
    assert(rec.offset >= firstLineBytes, JSON.stringify(rec));
    const kept = await Deno.readTextFile(join(dir, rec.kept_in));
    assert(kept.startsWith('{"timestamp": ') && kept.includes('"agent": "python-writer"'), kept);
    assertEquals(conversations([during!]), ["during"]);
    assertEquals((await python(["verify", path])).stdout.trim(), "OK 3");
    await waitFor("the log line", () => daemon.stderr.includes("the ledger's last line was torn"));
  } finally {
    try {
      writer.kill("SIGKILL");
    } catch { /* already killed */ }
    await writer.status;
  }
});

Deno.test("a flood of bad frames of every kind is counted by kind, and the coordinator goes on judging good ones", async () => {
  await using run = await setup();
  const { dir, gw, daemon } = run;
  const kinds: [string, string][] = [
    ["not_json", "{not json"],
    ["not_object", "[1,2,3]"],
    ["other_type", '{"type":"heartbeat"}'],
    ["missing_field", '{"type":"session_update","session_id":"x"}'],
    ["bad_type", '{"type":"session_update","session_id":"x","agent":7}'],
    ["no_conversation", '{"type":"session_update","agent":"observer"}'],
    ["not_json", "[".repeat(20_000)],
    ["not_object", "[".repeat(10_000) + "]".repeat(10_000)],
  ];
  const rounds = 1_000;
  for (let i = 0; i < rounds; i++) {
    for (const [, text] of kinds) gw.send(text);
    if (i % 250 === 0) await new Promise((r) => setTimeout(r, 0)); // let the socket drain
  }
  const big = JSON.stringify({ type: "session_update", session_id: "x".repeat(1 << 20) });
  for (let i = 0; i < 20; i++) gw.send(big);
  gw.send(update("after-flood", "observer"));
  const total = rounds * kinds.length + 20 + 1;
  await waitFor(
    "every frame counted",
    async () => ((await statusOf(dir))?.counters.frames ?? 0) >= total,
    60_000,
  );
  const s = (await statusOf(dir))!;
  assertEquals(s.counters.frames, total);
  const expected: Record<string, number> = { too_large: 20 };
  for (const [k] of kinds) expected[k] = (expected[k] ?? 0) + rounds;
  for (const [k, n] of Object.entries(expected)) {
    assertEquals(s.counters.skipped[k as keyof typeof s.counters.skipped], n, k);
  }
  assertEquals(s.counters.observations, 1);
  await waitFor("the good frame's violation", async () => (await ledgerLines(dir)).length >= 1);
  assertEquals(conversations(await ledgerLines(dir)), ["after-flood"]);
  assertEquals(s.state, "CONNECTED");
  assert(daemon.child.pid > 0);
});

Deno.test("a sequence role no agent can hold (a typo) is a warning at start and in status", async () => {
  await using run = await setup([], {
    "governance/coordinator.jsonc": '{ sequence: ["primary", "secondary", "obsrever"] }',
  });
  const { dir, daemon } = run;
  await waitFor(
    "the warning in status",
    async () => ((await statusOf(dir))?.warnings ?? []).length > 0,
  );
  const s = (await statusOf(dir))!;
  assertEquals(s.warnings!.length, 1);
  assertStringIncludes(s.warnings![0]!, 'The sequence role "obsrever" is held by no agent');
  const shown = await runCli(["status"], { cwd: dir, flags: sandboxFlags() });
  assertStringIncludes(shown.stdout, 'Warning:        The sequence role "obsrever"');
  assertStringIncludes(daemon.stderr, 'The sequence role "obsrever" is held by no agent');
  assertEquals((await daemon.stop()).code, 0);
});
