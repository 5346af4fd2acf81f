/**
 * scripts/parent_watch.ts: which ancestors `deno task start` watches, when one counts as gone, and
 * how often it looks (on a fake clock and a fake process table).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import {
  goneOf,
  launcherCheck,
  launchersOf,
  parseProcStat,
  type ProcStat,
  type StatReader,
  watch,
  WATCH_INTERVAL_MS,
} from "../../../scripts/parent_watch.ts";

function proc(pid: number, ppid: number, pgid: number, more: Partial<ProcStat> = {}): ProcStat {
  return { pid, comm: `p${pid}`, state: "S", ppid, pgid, startTime: pid * 10, ...more };
}

/** A process table that a test changes as processes come and go; counts the reads. */
class Table {
  readonly procs = new Map<number, ProcStat>();
  reads = 0;

  constructor(...procs: ProcStat[]) {
    for (const p of procs) this.procs.set(p.pid, p);
  }

  read: StatReader = (pids) => {
    this.reads++;
    const out = new Map<number, ProcStat>();
    for (const pid of pids) {
      const p = this.procs.get(pid);
      if (p) out.set(pid, { ...p });
    }
    return Promise.resolve(out);
  };
}

// npx as the job a shell started (group 10): npm exec (10) → sh -c (20) → deno task (30) →
// start.ts (40); the interactive shell (5, its own group) above.
const npxJob = () =>
  new Table(
    proc(5, 1, 5),
    proc(10, 5, 10),
    proc(20, 10, 10),
    proc(30, 20, 10),
    proc(40, 30, 10),
  );

Deno.test("parseProcStat reads the fields after the last ')' of the command name", () => {
  const start = "4242 (npm exec deno@) S 4200 4242 4100 34816 4242 4194560 1 2 3 4 5 6 7 8 20 0 ";
  const line = `${start}11 0 987654 1000 200 18446744073709551615`;
  assertEquals(parseProcStat(line), {
    pid: 4242,
    comm: "npm exec deno@",
    state: "S",
    ppid: 4200,
    pgid: 4242,
    startTime: 987654,
  });
  const odd = parseProcStat(`7 (a) b (c)) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0`);
  assertEquals([odd?.comm, odd?.state, odd?.ppid, odd?.startTime], ["a) b (c)", "Z", 1, 55]);
  assertEquals(parseProcStat(""), undefined);
  assertEquals(parseProcStat("cat: /proc/9/stat: No such file or directory"), undefined);
});

Deno.test("launchersOf is the parent and each ancestor in the launcher's process group, up to its leader", async () => {
  assertEquals((await launchersOf(40, npxJob().read)).map((p) => p.pid), [30, 20, 10]);

  // Started by a process outside its group (a service, a test runner with its own group): the
  // parent alone.
  const own = new Table(proc(5, 1, 5), proc(30, 5, 5), proc(40, 30, 40));
  assertEquals((await launchersOf(40, own.read)).map((p) => p.pid), [30]);

  // A group whose leader is gone already (the chain ends where nothing is there), and init.
  const orphan = new Table(proc(30, 1, 10), proc(40, 30, 10));
  assertEquals((await launchersOf(40, orphan.read)).map((p) => p.pid), [30]);
  assertEquals(await launchersOf(40, new Table(proc(40, 1, 10)).read), []);
  assertEquals(await launchersOf(40, new Table().read), []);
});

Deno.test("goneOf counts a missing, zombie or reused process as gone", async () => {
  const table = npxJob();
  const watched = await launchersOf(40, table.read);
  assertEquals(await goneOf(watched, table.read), undefined);

  table.procs.set(20, proc(20, 1, 10, { state: "Z" }));
  assertEquals((await goneOf(watched, table.read))?.pid, 20);
  table.procs.set(20, proc(20, 10, 10));
  table.procs.delete(10);
  assertEquals((await goneOf(watched, table.read))?.pid, 10);
  // Another process with npm's old pid.
  table.procs.set(10, proc(10, 5, 10, { startTime: 999_999 }));
  assertEquals((await goneOf(watched, table.read))?.pid, 10);
});

Deno.test("watch looks once every interval, calls onGone once when the command is gone, and stops looking", async () => {
  const clock = new FakeClock();
  const table = npxJob();
  const check = await launcherCheck({ os: "linux", self: 40, ppid: () => 30, read: table.read });
  assert(check !== undefined, "nothing to watch");
  table.reads = 0;
  const reasons: string[] = [];
  watch({ check, clock, onGone: (r) => reasons.push(r) });

  await clock.tick(WATCH_INTERVAL_MS - 1);
  assertEquals(table.reads, 0);
  await clock.tick(1);
  assertEquals(table.reads, 1);
  await clock.tick(WATCH_INTERVAL_MS * 3);
  assertEquals(table.reads, 4);
  assertEquals(reasons, []);

  // npx killed: its sh -c dies of the SIGTERM, npm exits; deno task and start.ts stay.
  table.procs.delete(20);
  table.procs.set(10, proc(10, 5, 10, { state: "Z" }));
  await clock.tick(WATCH_INTERVAL_MS);
  assertEquals(reasons, ["process 20 (p20) exited"]);
  assertEquals(clock.pending, 0);
});

Deno.test("a stopped watch sets no more timers; an unreadable /proc watches nothing", async () => {
  const clock = new FakeClock();
  const table = npxJob();
  const check = await launcherCheck({ os: "linux", self: 40, ppid: () => 30, read: table.read });
  const stop = watch({ check: check!, clock, onGone: () => {} });
  await clock.tick(WATCH_INTERVAL_MS);
  stop();
  assertEquals(clock.pending, 0);

  const failing: StatReader = () => Promise.reject(new Deno.errors.NotFound("cat"));
  assertEquals(
    await launcherCheck({ os: "linux", self: 40, ppid: () => 30, read: failing }),
    undefined,
  );
});

Deno.test("a failed look is not taken for a gone command", async () => {
  const table = npxJob();
  let failing = false;
  const read: StatReader = (pids) =>
    failing ? Promise.reject(new Error("Resource temporarily unavailable")) : table.read(pids);
  const check = await launcherCheck({ os: "linux", self: 40, ppid: () => 30, read });
  failing = true;
  table.procs.delete(10);
  assertEquals(await check!(), undefined);
  failing = false;
  assertEquals(await check!(), "process 10 (p10) exited");
});

Deno.test("without /proc, the parent is watched through its process id", async () => {
  let ppid = 30;
  const check = await launcherCheck({ os: "darwin", self: 40, ppid: () => ppid });
  assert(check !== undefined, "nothing to watch");
  assertEquals(await check(), undefined);
  ppid = 1; // adopted by launchd
  assertEquals(await check(), "its parent process 30 exited");
  assertEquals(await launcherCheck({ os: "darwin", self: 40, ppid: () => 1 }), undefined);
});
