/**
 * `deno task bench --only drift`: the commitment drift rule.
 * - Cost per answer: the rule (tokenising the answer and scoring it) with 20 earlier turns of
 *   200 words each, by TF-IDF and by Jaccard, next to one durable ledger append timed in the
 *   same run (the rule must not hold up the pipeline: below one append).
 * - Memory: resident size and V8 heap of a process holding the history of 100,000
 *   conversations (each a few turns), and of 1,000 with a full 20 × 200-word history.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CommitmentDriftRule, type DriftScorer } from "../lib/rules/drift/mod.ts";
import { RuleEngine } from "../lib/rules/engine.ts";
import { DEFAULT_GOVERNANCE } from "../lib/rules/governance.ts";
import type { TurnEvent } from "../lib/rules/event.ts";
import { appendEntries } from "../lib/ledger/append.ts";
import { findingEntry } from "../lib/ledger/entries.ts";
import { sequenceFinding } from "../lib/rules/sequence_rule.ts";
import { DEFAULT_SEQUENCE } from "../lib/rules/sequence.ts";
import { fmt, percentile } from "./load.ts";

type Report = (name: string, value: string) => void;

const STOP = "the and of to in it is that we for be this with as on was are not".split(" ");

/** Deterministic prose-like text: a 3,000-word vocabulary, skewed, about 40 % stop words. */
export class Prose {
  #seed: number;
  readonly #vocab: string[];

  /** Words drawn from `seed`. */
  constructor(seed = 1) {
    this.#seed = seed;
    const letters = "abcdefghijklmnopqrstuvwxyz";
    this.#vocab = Array.from({ length: 3000 }, () => {
      const n = 4 + Math.floor(this.#rnd() * 7);
      let w = "";
      for (let i = 0; i < n; i++) w += letters[Math.floor(this.#rnd() * 26)];
      return w;
    });
  }

  #rnd(): number {
    this.#seed = (this.#seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.#seed / 2_147_483_648;
  }

  /** `n` words. */
  text(n: number): string {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      if (this.#rnd() < 0.4) out.push(STOP[Math.floor(this.#rnd() * STOP.length)]!);
      else out.push(this.#vocab[Math.floor(this.#rnd() ** 2 * this.#vocab.length)]!);
    }
    return `${out.join(" ")}.`;
  }
}

function turn(conversation: string, text: string, i: number): TurnEvent {
  return {
    kind: "turn",
    protocol: "openclaw",
    conversation,
    agent: "primary",
    at: i,
    id: `t-${i}`,
    source: "live",
    text,
  };
}

// Milliseconds per answer, each timed alone: `conversations` conversations primed with
// `history` turns, then `n` answers round-robin (each scored against a full window).
function costPerAnswer(scorer: DriftScorer, n: number): number[] {
  const prose = new Prose(7);
  const rule = new CommitmentDriftRule({
    scorer,
    level: "red",
    historyTurns: 20,
    maxHistoryBytes: 1 << 20,
  });
  const engine = new RuleEngine([rule], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: () => {},
  });
  const conversations = 50;
  let i = 0;
  for (let c = 0; c < conversations; c++) {
    for (let h = 0; h < 20; h++) engine.handle(turn(`c${c}`, prose.text(200), i++));
  }
  const texts = Array.from({ length: n }, () => prose.text(200));
  const times: number[] = [];
  for (let k = 0; k < n; k++) {
    const e = turn(`c${k % conversations}`, texts[k]!, i++);
    const t0 = performance.now();
    engine.handle(e);
    times.push(performance.now() - t0);
  }
  if ((rule.stats().scored ?? 0) < n) {
    throw new Error("The rule scored fewer answers than it was given");
  }
  return times.sort((a, b) => a - b);
}

async function appendTimes(n: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "moses-bench-drift-" });
  try {
    const path = join(dir, "ledger.jsonl");
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const body = findingEntry(
        sequenceFinding({
          id: crypto.randomUUID(),
          protocol: "legacy",
          conversation: `conversation-${i}`,
          agent: "observer",
          role: "observer",
          expected: "secondary",
          sequence: DEFAULT_SEQUENCE,
        }, Date.now()),
        DEFAULT_GOVERNANCE.fields,
      );
      const t0 = performance.now();
      await appendEntries(path, [body]);
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ms = (t: number[]) => `${fmt(percentile(t, 0.5), 3)} / ${fmt(percentile(t, 0.99), 3)}`;

/** Runs the drift benchmarks. */
export async function driftBench(report: Report): Promise<void> {
  costPerAnswer("tfidf", 500); // warm-up
  const appends = await appendTimes(300);
  const tfidf = costPerAnswer("tfidf", 3000);
  const jaccard = costPerAnswer("jaccard", 3000);
  report("drift: one answer, 20 × 200-word history, tfidf: median / p99 ms", ms(tfidf));
  report("drift: one answer, 20 × 200-word history, jaccard: median / p99 ms", ms(jaccard));
  report("drift: one durable ledger append, same run: median / p99 ms", ms(appends));
  report(
    "drift: tfidf answer / ledger append, medians",
    `${fmt(percentile(tfidf, 0.5) / percentile(appends, 0.5), 2)}`,
  );
  for (const [conversations, turns, words] of [[100_000, 3, 50], [1_000, 20, 200]]) {
    const m = await memoryChild(conversations!, turns!, words!);
    report(
      `drift: ${fmt(conversations!)} conversations × ${turns} turns of ${words} words: ` +
        `RSS / heap MB`,
      `${fmt(m.rss / 1e6, 1)} / ${fmt(m.heap / 1e6, 1)} (${fmt(m.heap / conversations!)} ` +
        "heap bytes each)",
    );
  }
}

interface MemoryFigures {
  rss: number;
  heap: number;
}

async function memoryChild(conversations: number, turns: number, words: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-all",
      import.meta.filename!,
      `--conversations=${conversations}`,
      `--turns=${turns}`,
      `--words=${words}`,
    ],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("The drift memory child failed");
  return JSON.parse(new TextDecoder().decode(out.stdout)) as MemoryFigures;
}

function rssBytes(): number {
  const text = Deno.readTextFileSync(`/proc/${Deno.pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1]) * 1024;
}

// In a process of its own: the rule's history for `conversations` conversations.
function memoryFigures(conversations: number, turns: number, words: number): MemoryFigures {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
  const prose = new Prose(11);
  // A pool of answers (texts come and go; what the rule keeps is what is measured).
  const pool = Array.from({ length: 2_000 }, () => prose.text(words));
  gc();
  const rss0 = rssBytes();
  const heap0 = Deno.memoryUsage().heapUsed;
  const rule = new CommitmentDriftRule({ maxConversations: conversations, historyTurns: turns });
  const engine = new RuleEngine([rule], {
    governance: () => DEFAULT_GOVERNANCE,
    onFinding: () => {},
  });
  let i = 0;
  for (let t = 0; t < turns; t++) {
    for (let c = 0; c < conversations; c++) {
      engine.handle(turn(`conversation-${c}`, pool[i % pool.length]!, i));
      i++;
    }
  }
  gc();
  gc();
  const heap = Deno.memoryUsage().heapUsed - heap0;
  const rss = rssBytes() - rss0;
  if (rule.conversations !== conversations) throw new Error("The rule lost conversations");
  return { rss, heap };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      conversations: { type: "string" },
      turns: { type: "string" },
      words: { type: "string" },
    },
  });
  console.log(JSON.stringify(memoryFigures(
    Number(values.conversations),
    Number(values.turns),
    Number(values.words),
  )));
}
