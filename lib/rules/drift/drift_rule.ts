/**
 * The commitment drift rule ("constitutional drift"): each agent answer whose text is known is
 * scored against the conversation's earlier answers, as MO§ES commitment.py scores it, and a
 * score at or above the configured level is a `commitment_drift` finding. The finding names
 * the score, never the text (at most its SHA-256). The history is bounded (turns and bytes per
 * conversation, conversations tracked) and kept in memory only: agents' text is never written.
 * @module
 */
import { sha256Hex, uuidShaped } from "../../util/mod.ts";
import type { Protocol, RuleEvent, RunEvent, TurnEvent } from "../event.ts";
import type { Finding } from "../finding.ts";
import type { Rule, RuleContext, RuleStats } from "../rule.ts";
import {
  countTerms,
  DRIFT_LEVELS,
  type DriftLevel,
  driftLevel,
  type DriftScorer,
  jaccardDriftOfSets,
  type TermCounts,
  tfidfDriftOfCounts,
} from "./score.ts";
import { tfidfTerms, wordSet } from "./tokenize.ts";

/** The id of the drift rule (its state and counters). */
export const DRIFT_RULE = "drift";
/** The ledger key of a drift finding's object. */
export const DRIFT_KEY = "drift";

/** How the drift rule is set up (config `drift`). */
export interface DriftOptions {
  /** TF-IDF (commitment.py with scikit-learn) or Jaccard (without). */
  scorer: DriftScorer;
  /** The level from which a turn is a finding. */
  level: Exclude<DriftLevel, "green">;
  /** Earlier turns kept per conversation. */
  historyTurns: number;
  /** Most bytes of history kept per conversation (an estimate of the memory it takes). */
  maxHistoryBytes: number;
  /** Most conversations tracked; the least recently active is forgotten first. */
  maxConversations: number;
  /**
   * Answers with fewer distinct terms (TF-IDF: non-stop-word terms; Jaccard: words) are
   * neither scored nor kept: a few words say too little to drift from, or to drift against.
   */
  minTerms: number;
}

/**
 * The defaults: red (≥ 40) by TF-IDF, the last 20 turns up to 128 KiB, 2,000 conversations,
 * answers of 8 distinct terms or more.
 */
export const DEFAULT_DRIFT_OPTIONS: Readonly<DriftOptions> = Object.freeze({
  scorer: "tfidf",
  level: "red",
  historyTurns: 20,
  maxHistoryBytes: 131_072,
  maxConversations: 2_000,
  minTerms: 8,
});

/** The structured object of a drift finding, in the ledger under `drift`. */
export interface DriftRecord {
  /** The finding's id. */
  id: string;
  /** The conversation. */
  conversation: string;
  /** The agent that answered. */
  agent: string;
  /** The drift, 0 to 100, two decimals. */
  score: number;
  /** Its level. */
  level: DriftLevel;
  /** How it was scored. */
  scorer: DriftScorer;
  /** The level from which a turn is a finding. */
  threshold: DriftLevel;
  /** How many earlier turns it was scored against. */
  history_turns: number;
  /** SHA-256 of the answer's text (never the text). */
  text_sha256: string;
  /** The gateway protocol. */
  protocol: Protocol;
}

/** A drift finding. */
export type DriftFinding = Finding<DriftRecord>;

// One earlier turn as the scorer needs it: its terms (TF-IDF) or its words (Jaccard).
interface Past {
  readonly terms: TermCounts | ReadonlySet<string>;
  /** Distinct terms. */
  readonly size: number;
  readonly bytes: number;
}

interface History {
  turns: Past[];
  bytes: number;
}

/** Scores answers against their conversation's earlier ones. */
export class CommitmentDriftRule implements Rule {
  /** Always {@link DRIFT_RULE}. */
  readonly id: typeof DRIFT_RULE = DRIFT_RULE;
  readonly accepts = ["turn", "run"] as const;
  readonly actions = ["commitment_drift"];
  readonly #o: DriftOptions;
  // Insertion order is activity order: a conversation is moved to the end when it answers.
  readonly #conversations = new Map<string, History>();
  readonly #byLevel: Record<DriftLevel, number> = { green: 0, yellow: 0, orange: 0, red: 0 };
  #baselines = 0;
  #withoutText = 0;
  #short = 0;
  #evicted = 0;

  /** Creates the rule; options left out take {@link DEFAULT_DRIFT_OPTIONS}. */
  constructor(options: Partial<DriftOptions> = {}) {
    this.#o = { ...DEFAULT_DRIFT_OPTIONS, ...options };
  }

  evaluate(event: RuleEvent, ctx: RuleContext): DriftFinding | undefined {
    // An OpenClaw run's answer is scored once, at its end, on its final text: its first
    // announcement may be a tool call's message, with little or no text.
    if (event.kind === "turn" && event.run !== undefined) return undefined;
    if (event.kind === "run" && event.phase !== "answered") return undefined;
    if (event.kind !== "turn" && event.kind !== "run") return undefined;
    if (event.text === undefined) {
      this.#withoutText++;
      return undefined;
    }
    const past = this.#prepare(event.text);
    if (past.size < this.#o.minTerms) {
      this.#short++;
      return undefined;
    }
    const history = this.#touch(event.conversation);
    const earlier = history.turns.length;
    // commitment.py scores a first message against "INITIAL COMMITMENT BASELINE", which makes
    // nearly every first answer red: the first answer seen is the baseline instead.
    const score = earlier === 0 ? undefined : this.#score(past, history.turns);
    this.#remember(history, past);
    if (score === undefined) {
      this.#baselines++;
      return undefined;
    }
    const level = driftLevel(score);
    this.#byLevel[level]++;
    if (DRIFT_LEVELS.indexOf(level) < DRIFT_LEVELS.indexOf(this.#o.level)) return undefined;
    return this.#finding(event, { score, level, earlier, textSha256: sha256Hex(event.text) }, ctx);
  }

  /** Conversations tracked now. */
  get conversations(): number {
    return this.#conversations.size;
  }

  stats(): RuleStats {
    let scored = 0;
    for (const n of Object.values(this.#byLevel)) scored += n;
    return {
      scored,
      ...this.#byLevel,
      baselines: this.#baselines,
      withoutText: this.#withoutText,
      short: this.#short,
      conversations: this.#conversations.size,
      evicted: this.#evicted,
    };
  }

  #prepare(text: string): Past {
    if (this.#o.scorer === "tfidf") {
      const terms = countTerms(tfidfTerms(text));
      let bytes = 64;
      for (const t of terms.terms) bytes += 2 * t.length + 40;
      return { terms, size: terms.terms.length, bytes };
    }
    const words = wordSet(text);
    let bytes = 64;
    for (const w of words) bytes += 2 * w.length + 40;
    return { terms: words, size: words.size, bytes };
  }

  #score(now: Past, turns: readonly Past[]): number {
    if (this.#o.scorer === "tfidf") {
      return tfidfDriftOfCounts(now.terms as TermCounts, turns.map((t) => t.terms as TermCounts));
    }
    const union = new Set<string>();
    for (const t of turns) for (const w of t.terms as ReadonlySet<string>) union.add(w);
    return jaccardDriftOfSets(now.terms as ReadonlySet<string>, union);
  }

  #touch(conversation: string): History {
    let h = this.#conversations.get(conversation);
    if (h !== undefined) {
      this.#conversations.delete(conversation);
    } else {
      h = { turns: [], bytes: 0 };
      while (this.#conversations.size >= this.#o.maxConversations) {
        this.#conversations.delete(this.#conversations.keys().next().value as string);
        this.#evicted++;
      }
    }
    this.#conversations.set(conversation, h);
    return h;
  }

  // Keeps the newest turns within both bounds; a turn over the byte bound alone is not kept.
  #remember(h: History, past: Past): void {
    if (past.bytes > this.#o.maxHistoryBytes) return;
    h.turns.push(past);
    h.bytes += past.bytes;
    while (h.turns.length > this.#o.historyTurns || h.bytes > this.#o.maxHistoryBytes) {
      h.bytes -= h.turns.shift()!.bytes;
    }
  }

  #finding(
    event: TurnEvent | RunEvent,
    s: { score: number; level: DriftLevel; earlier: number; textSha256: string },
    ctx: RuleContext,
  ): DriftFinding {
    const id = event.id !== undefined ? findingId(event.id) : ctx.newId();
    const data: DriftRecord = {
      id,
      conversation: event.conversation,
      agent: event.agent,
      score: s.score,
      level: s.level,
      scorer: this.#o.scorer,
      threshold: this.#o.level,
      history_turns: s.earlier,
      text_sha256: s.textSha256,
      protocol: event.protocol,
    };
    return {
      id,
      rule: DRIFT_RULE,
      action: "commitment_drift",
      at: event.at,
      detail: `Commitment drift in conversation ${event.conversation}: ${event.agent}'s answer ` +
        `drifted ${s.score.toFixed(2)} from the conversation's last ${s.earlier} ` +
        `turn${s.earlier === 1 ? "" : "s"} (${s.level}, ${this.#o.scorer}; ` +
        `the threshold is ${this.#o.level})`,
      outcome: "logged",
      conversation: event.conversation,
      agent: event.agent,
      key: DRIFT_KEY,
      data,
    };
  }
}

// A UUID-shaped id from the turn's id: the same turn found again (a catch-up after a crash)
// keeps its id, so its finding is written once.
function findingId(eventId: string): string {
  const h = sha256Hex(`${eventId}\n${DRIFT_RULE}`);
  return uuidShaped(h, "d");
}
