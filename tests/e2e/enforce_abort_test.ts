/**
 * The `abort` level against a real OpenClaw gateway with the scripted model's slow stream:
 * off → an out-of-turn run completes and is `logged`; abort → the same run ends aborted before
 * its final answer and the ledger says `blocked_and_logged`, once; an in-turn run is untouched.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { freePort, OpenClawGateway } from "../support/openclaw_gateway.ts";
import { TcpProxy } from "../support/tcp_proxy.ts";
import { ModelServer } from "../support/model_server.ts";
import { Daemon, ledgerLines, sandboxFlags, statusOf, waitFor } from "../support/helpers.ts";

type Line = Record<string, unknown>;

/** What a client watching every session saw of each run: chat states and lifecycle times. */
interface Seen {
  states: string[];
  startedAt?: number;
  endedAt?: number;
  endStatus?: string;
}

Deno.test("enforce abort stops an out-of-turn run as it starts, and says so only when confirmed", async (t) => {
  const model = ModelServer.start();
  const gw = await OpenClawGateway.start({ model });
  const stateDir = join(gw.home, ".openclaw");
  await Deno.mkdir(join(stateDir, "audits/moses"), { recursive: true });
  await Deno.mkdir(join(stateDir, "governance"), { recursive: true });
  const config = join(stateDir, "governance/coordinator.jsonc");
  const driver = await gw.driver();
  const watcher = await gw.driver();
  const runs = new Map<string, Seen>();
  const seen = (runId: string) => {
    let s = runs.get(runId);
    if (s === undefined) runs.set(runId, s = { states: [] });
    return s;
  };
  watcher.conn.onEvent = (f) => {
    const p = f.payload as Record<string, unknown> | undefined;
    if (typeof p?.runId !== "string") return;
    const s = seen(p.runId);
    if (f.event === "chat" && typeof p.state === "string" && p.state !== "delta") {
      s.states.push(p.state);
    }
    const data = p.data as Record<string, unknown> | undefined;
    if (f.event === "agent" && p.stream === "lifecycle") {
      if (data?.phase === "start") s.startedAt = Date.now();
      if (data?.phase === "end") {
        s.endedAt = Date.now();
        s.endStatus = String(data.status);
      }
    }
  };
  await watcher.conn.request("sessions.subscribe", {});
  // Starts a run and waits until it has ended, however it ended.
  const run = async (agent: string, rest: string, message: string) => {
    const sessionKey = await driver.session(agent, rest);
    const runId = crypto.randomUUID();
    await driver.conn.request("chat.send", { sessionKey, message, idempotencyKey: runId });
    // A busy machine (the gateway shares two cores with other tests) makes runs slow to start.
    await driver.conn.request("agent.wait", { runId, timeoutMs: 90_000 }, 100_000);
    await waitFor("the run's end", () => seen(runId).endedAt !== undefined, 60_000);
    return { runId, sessionKey, seen: seen(runId) };
  };
  const sequenceLines = async (conversation: string) =>
    (await ledgerLines(stateDir)).filter((l) =>
      l.action === "sequence_violation" &&
      (l.violation as { conversation: string }).conversation === conversation
    );
  const violation = (l: Line) => l.violation as Record<string, unknown>;
  const start = () =>
    new Daemon(["--gateway", gw.url], { cwd: stateDir, flags: sandboxFlags(gw.port) });
  const connected = (d: Daemon) =>
    waitFor("CONNECTED", async () => {
      const s = await statusOf(stateDir);
      return s?.pid === d.child.pid && s.state === "CONNECTED";
    }, 60_000);
  const proxy = new TcpProxy(gw.port, freePort());
  let daemon = start();
  try {
    await connected(daemon);

    await t.step("off: the out-of-turn run completes, logged", async () => {
      const r = await run("secondary", "off1", "SLOW 4");
      assertEquals(r.seen.states.includes("final"), true, JSON.stringify(r.seen));
      await waitFor("the finding", async () => (await sequenceLines("off1")).length === 1, 60_000);
      const [line] = await sequenceLines("off1");
      assertEquals(line!.outcome, "logged");
      assertEquals(violation(line!).enforcement, undefined);
    });

    assertEquals((await daemon.stop()).code, 0);
    await Deno.writeTextFile(config, '{ "enforce": "abort" }');
    daemon = start();
    await connected(daemon);
    assertEquals((await statusOf(stateDir))!.enforcement.inForce, [
      "enforce prevent",
      "enforce abort",
    ]);

    await t.step(
      "abort: the out-of-turn run ends aborted before its final answer, blocked_and_logged once",
      async () => {
        const took: number[] = [];
        for (const rest of ["ab1", "ab2", "ab3"]) {
          // About 10 s of answer if nothing stops it.
          const r = await run("secondary", rest, "SLOW 40");
          assertEquals(r.seen.states.includes("final"), false, JSON.stringify(r.seen));
          assertEquals(r.seen.states.includes("aborted"), true, JSON.stringify(r.seen));
          assertEquals(r.seen.endStatus, "cancelled");
          took.push(r.seen.endedAt! - r.seen.startedAt!);
          await waitFor("the finding", async () => (await sequenceLines(rest)).length >= 1, 60_000);
          const [line] = await sequenceLines(rest);
          assertEquals(line!.outcome, "blocked_and_logged");
          assertEquals(violation(line!).enforcement, { action: "abort", result: "aborted" });
          assertEquals([violation(line!).agent, violation(line!).expected], [
            "secondary",
            "primary",
          ]);
        }
        took.sort((a, b) => a - b);
        console.log(
          `run start to aborted end (ms), seen by a client: ${took.join(", ")}; p50 ${
            took[Math.floor(took.length / 2)]
          }, max ${took.at(-1)}`,
        );
        // The coordinator has judged everything the aborted runs left (a partial answer
        // included) once it has judged an event that came after them: one more out-of-turn
        // run in a new conversation, whose finding is written after theirs.
        await run("observer", "ab4", "SLOW 40");
        await waitFor("the last finding", async () => (await sequenceLines("ab4")).length === 1);
        for (const rest of ["ab1", "ab2", "ab3"]) {
          assertEquals((await sequenceLines(rest)).length, 1, rest);
        }
        // Status counts them: four aborts asked for, each line blocked_and_logged confirmed.
        let blocked = 0;
        for (const rest of ["ab1", "ab2", "ab3", "ab4"]) {
          const [l] = await sequenceLines(rest);
          if (l!.outcome === "blocked_and_logged") blocked++;
        }
        await waitFor("status counts the aborts", async () => {
          const a = (await statusOf(stateDir))?.enforcement.aborts;
          return a?.aborts === 4 && a.waiting === 0;
        });
        assertEquals((await statusOf(stateDir))!.enforcement.aborts?.blocked, blocked);
      },
    );

    await t.step("abort: an in-turn run is not touched", async () => {
      const r = await run("primary", "in1", "SLOW 4");
      assertEquals(r.seen.states.includes("final"), true, JSON.stringify(r.seen));
      assertEquals(r.seen.endStatus !== "cancelled", true);
      // Its answer moved the order: secondary is in turn there now and is not touched either.
      const r2 = await run("secondary", "in1", "SLOW 4");
      assertEquals(r2.seen.states.includes("final"), true, JSON.stringify(r2.seen));
      await run("observer", "in2", "SLOW 40");
      await waitFor("a later finding", async () => (await sequenceLines("in2")).length === 1);
      assertEquals(await sequenceLines("in1"), []);
      const all = await ledgerLines(stateDir);
      assert(all.every((l) => (l.violation as { conversation?: string })?.conversation !== "in1"));
    });

    await t.step(
      "abort without operator.admin: not in force, the run completes, logged saying why",
      async () => {
        assertEquals((await daemon.stop()).code, 0);
        proxy.addHeaders = ["x-openclaw-scopes: operator.read,operator.write"];
        proxy.listen();
        daemon = new Daemon(["--gateway", `ws://127.0.0.1:${proxy.port}`], {
          cwd: stateDir,
          flags: sandboxFlags(proxy.port),
        });
        await waitFor("connected, abort not in force", async () => {
          const s = await statusOf(stateDir);
          return s?.pid === daemon.child.pid && (s.openclaw?.reconciles ?? 0) >= 1 &&
            s.enforcement.notInForce?.some((o) => o.feature === "enforce abort") === true;
        }, 60_000);
        const r = await run("secondary", "nf1", "SLOW 4");
        assertEquals(r.seen.states.includes("final"), true, JSON.stringify(r.seen));
        await waitFor("the finding", async () => (await sequenceLines("nf1")).length === 1, 60_000);
        const [line] = await sequenceLines("nf1");
        assertEquals(line!.outcome, "logged");
        const e = violation(line!).enforcement as { action: string; result: string };
        assertEquals(e.action, "abort");
        assertStringIncludes(e.result, "not in force: the gateway did not grant operator.admin");
      },
    );
  } finally {
    proxy.close();
    await daemon.stop();
    watcher.close();
    driver.close();
    await gw.stop();
    await model.stop();
  }
});
