import { assertEquals } from "../../../support/assert.ts";
import { FakeClock, flushMicrotasks } from "../../../support/fake_clock.ts";
import { Logger } from "../../../../lib/service/log.ts";
import {
  GOVERNANCE_REFRESH_MS,
  GovernanceSource,
} from "../../../../lib/service/daemon/governance_source.ts";
import type { GovernanceRead } from "../../../../lib/service/governance.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../../../../lib/rules/governance.ts";

function gov(mode: string, broadcast = false): Governance {
  return { fields: { ...DEFAULT_GOVERNANCE.fields, mode }, broadcast };
}

/** Reads that finish only when the test says, in any order. */
class Reads {
  readonly pending: { resolve: (r: GovernanceRead) => void }[] = [];
  started = 0;
  inFlight = 0;
  maxInFlight = 0;
  read = (): Promise<GovernanceRead> => {
    this.started++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) =>
      this.pending.push({
        resolve: (r) => {
          this.inFlight--;
          resolve(r);
        },
      })
    );
  };
}

Deno.test("refreshes never overlap, and the newest read is the one kept", async () => {
  const reads = new Reads();
  const src = new GovernanceSource({
    path: "state.json",
    logger: new Logger("json", () => {}),
    read: reads.read,
  });
  const first = src.refresh();
  const second = src.refresh();
  const third = src.refresh();
  assertEquals(reads.started, 1);
  // The first read (older) finishes: a second read starts, and only then.
  reads.pending[0]!.resolve({ governance: gov("old"), found: true });
  await flushMicrotasks();
  assertEquals(reads.started, 2);
  reads.pending[1]!.resolve({ governance: gov("new"), found: true });
  await Promise.all([first, second, third]);
  assertEquals(reads.maxInFlight, 1);
  assertEquals(src.governance.fields.mode, "new");
});

Deno.test("a bad state.json keeps the last good state and says why once", async () => {
  const lines: string[] = [];
  let next: GovernanceRead = { governance: gov("good"), found: true };
  const src = new GovernanceSource({
    path: "state.json",
    logger: new Logger("json", (l) => lines.push(l)),
    read: (_p, fallback) => Promise.resolve({ ...next, governance: next.governance ?? fallback }),
  });
  await src.refresh();
  next = { governance: src.governance, found: true, error: "Cannot read state.json: line 1" };
  await src.refresh();
  await src.refresh();
  assertEquals(src.governance.fields.mode, "good");
  assertEquals(src.error, "Cannot read state.json: line 1");
  assertEquals(lines.length, 1);
});

Deno.test("the periodic refresh runs on the injected clock, one read per interval", async () => {
  const clock = new FakeClock();
  let reads = 0;
  const src = new GovernanceSource({
    path: "state.json",
    logger: new Logger("json", () => {}),
    clock,
    read: () => {
      reads++;
      return Promise.resolve({ governance: gov(`m${reads}`, reads === 2), found: true });
    },
  });
  src.start();
  await clock.tick(GOVERNANCE_REFRESH_MS * 3);
  assertEquals(reads, 3);
  assertEquals(src.governance.fields.mode, "m3");
  src.stop();
  assertEquals(clock.pending, 0);
});
