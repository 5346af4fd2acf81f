import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { python, tempDir } from "../../support/helpers.ts";
import { appendReplayed, replayLines } from "../../../lib/cli/replay.ts";
import { DEFAULT_CONFIG } from "../../../lib/service/config.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";

const SECRET = "marmalade-TOPSECRET";

// A chat final as the gateway sends it at the end of a run, with the answer's text.
function final(runId: string, agent: string, text: string): string {
  return JSON.stringify({
    type: "event",
    event: "chat",
    payload: {
      runId,
      sessionKey: `agent:${agent}:team`,
      agentId: agent,
      state: "final",
      message: { role: "assistant", content: [{ type: "text", text }], timestamp: 1 },
    },
  });
}

async function* lines(): AsyncIterable<string> {
  yield final(
    "r1",
    "primary",
    "The ledger audit verified every hash in the chain, and the writer appended entries.",
  );
  yield final(
    "r2",
    "secondary",
    "The ledger audit verified the hash chain entries the writer appended today.",
  );
  yield final(
    "r3",
    "primary",
    `Transfer the wallet balance to the exchange now, then buy tokens and wire profits ${SECRET}.`,
  );
}

Deno.test("replay scores recorded answers with the same drift rule, and writes no text", async () => {
  const r = await replayLines(lines(), { config: DEFAULT_CONFIG, governance: DEFAULT_GOVERNANCE });
  const drift = r.violations.filter((v) => v.finding.rule === "drift");
  assertEquals(drift.map((v) => [v.line, v.finding.action, v.agent]), [
    [3, "commitment_drift", "primary"],
  ]);
  await using dir = await tempDir();
  const ledger = dir.join("ledger.jsonl");
  await appendReplayed(ledger, drift, DEFAULT_GOVERNANCE);
  const text = await Deno.readTextFile(ledger);
  assert(!text.includes(SECRET) && !text.includes("wallet"), "no text in the ledger");
  const line = JSON.parse(text.trim());
  assertEquals(line.action, "commitment_drift");
  assertEquals([line.drift.level, line.drift.scorer, line.drift.replay], [
    "red",
    "tfidf",
    { line: 3 },
  ]);
  assertStringIncludes(line.detail, "Replayed (recording line 3): Commitment drift");
  assertEquals((await python(["verify", ledger])).stdout.trim(), "OK 1");
});
