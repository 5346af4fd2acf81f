/**
 * Commitment drift as MO§ES `commitment.py` scores it: how far a new message is from the
 * conversation's earlier ones, 0 (the same) to 100 (nothing in common), by TF-IDF (scikit-learn's
 * defaults) or, without scikit-learn, by Jaccard over words; and the level of a score. Pure.
 * @module
 */
import { tfidfTerms, wordSet } from "./tokenize.ts";

/** How a message is compared with its history. */
export type DriftScorer = "tfidf" | "jaccard";

/** The scorers, for config errors. */
export const DRIFT_SCORERS: readonly DriftScorer[] = ["tfidf", "jaccard"];

/** commitment.py's levels, from least to most drift. */
export type DriftLevel = "green" | "yellow" | "orange" | "red";

/** The levels in order. */
export const DRIFT_LEVELS: readonly DriftLevel[] = ["green", "yellow", "orange", "red"];

/** The history commitment.py scores against when there is none. */
export const BASELINE_HISTORY: readonly string[] = ["INITIAL COMMITMENT BASELINE"];

/** The level of a score: green < 5, yellow < 20, orange < 40, red from 40 (commitment VIOLATED). */
export function driftLevel(score: number): DriftLevel {
  if (score < 5) return "green";
  if (score < 20) return "yellow";
  if (score < 40) return "orange";
  return "red";
}

/**
 * Python's `round(x, 2)` for 0 ≤ x: the double's exact value rounded to two decimals, ties
 * to even. `toFixed` rounds the exact value too but ties up; a tie needs the exact value to
 * end in 5 at the third decimal, which only multiples of 1/8 do.
 */
export function pyRound2(x: number): number {
  const up = Number(x.toFixed(2));
  const eighths = x * 8; // exact
  if (!Number.isInteger(eighths) || eighths % 2 === 0) return up; // quarters have no third decimal
  const down = Math.round((up - 0.01) * 100) / 100;
  return Math.round(up * 100) % 2 === 0 ? up : down;
}

/** Drift of `message` from `history` by TF-IDF (commitment.py with scikit-learn). */
export function tfidfDrift(message: string, history: readonly string[]): number {
  const past = history.length === 0 ? BASELINE_HISTORY : history;
  return tfidfDriftOfCounts(termCounts(message), past.map(termCounts));
}

/** Drift of `message` from `history` by Jaccard over words (commitment.py without scikit-learn). */
export function jaccardDrift(message: string, history: readonly string[]): number {
  const past = history.length === 0 ? BASELINE_HISTORY : history;
  const union = new Set<string>();
  for (const h of past) for (const w of wordSet(h)) union.add(w);
  return jaccardDriftOfSets(wordSet(message), union);
}

/** Drift by Jaccard between a message's word set and the union of its history's. */
export function jaccardDriftOfSets(
  words: ReadonlySet<string>,
  history: ReadonlySet<string>,
): number {
  let common = 0;
  for (const w of words) if (history.has(w)) common++;
  const all = words.size + history.size - common;
  if (all === 0) return 0;
  return pyRound2((1 - common / all) * 100);
}

/** A text's TF-IDF terms, each once, with how often it occurs. */
export interface TermCounts {
  /** The distinct terms. */
  readonly terms: readonly string[];
  /** How often each occurs, in the same order. */
  readonly counts: ArrayLike<number>;
}

/** The {@link TermCounts} of `text`. */
export function termCounts(text: string): TermCounts {
  return countTerms(tfidfTerms(text));
}

/** The {@link TermCounts} of a list of terms (repeats counted). */
export function countTerms(list: readonly string[]): TermCounts {
  const m = new Map<string, number>();
  for (const t of list) m.set(t, (m.get(t) ?? 0) + 1);
  return { terms: [...m.keys()], counts: [...m.values()] };
}

/**
 * Drift by TF-IDF from term counts, as scikit-learn computes it: the vectoriser fitted on
 * history + [message] (smooth idf ln((1+n)/(1+df)) + 1, counts × idf, each row divided by its
 * L2 norm), the history rows' mean (each row × 1/h, summed in row order, as scipy's `mean`
 * does), then `cosine_similarity`, which normalises both vectors again (that second
 * normalisation is what makes an exact repeat come out as Python's -0.0). No terms at all
 * gives 0; a history or message without terms, 100. Sums run in the order terms were first
 * seen, not the vocabulary's: numpy's own sums are blocked for SIMD, so the last bit cannot be
 * promised either way, and every published vector agrees.
 */
export function tfidfDriftOfCounts(message: TermCounts, history: readonly TermCounts[]): number {
  const index = new Map<string, number>();
  const df: number[] = [];
  const ids = (doc: TermCounts): Int32Array => {
    const out = new Int32Array(doc.terms.length);
    doc.terms.forEach((t, i) => {
      let k = index.get(t);
      if (k === undefined) {
        k = df.length;
        index.set(t, k);
        df.push(0);
      }
      df[k]!++;
      out[i] = k;
    });
    return out;
  };
  const historyIds = history.map(ids);
  const messageIds = ids(message);
  if (df.length === 0) return 0;
  const n = history.length + 1;
  const idf = new Float64Array(df.length);
  for (let k = 0; k < df.length; k++) idf[k] = Math.log((1 + n) / (1 + df[k]!)) + 1;
  const mean = new Float64Array(df.length);
  const inv = 1 / history.length;
  history.forEach((doc, r) => {
    const id = historyIds[r]!;
    const norm = weightNorm(doc, id, idf);
    if (norm === 0) return;
    for (let i = 0; i < id.length; i++) {
      mean[id[i]!]! += (doc.counts[i]! * idf[id[i]!]! / norm) * inv;
    }
  });
  const norm = weightNorm(message, messageIds, idf);
  let meanSq = 0;
  for (let k = 0; k < mean.length; k++) meanSq += mean[k]! * mean[k]!;
  if (norm === 0 || meanSq === 0) return pyRound2(100);
  const row = new Float64Array(messageIds.length);
  let rowSq = 0;
  for (let i = 0; i < row.length; i++) {
    row[i] = message.counts[i]! * idf[messageIds[i]!]! / norm;
    rowSq += row[i]! * row[i]!;
  }
  const meanNorm = Math.sqrt(meanSq);
  const rowNorm = Math.sqrt(rowSq);
  let similarity = 0;
  for (let i = 0; i < row.length; i++) {
    similarity += (mean[messageIds[i]!]! / meanNorm) * (row[i]! / rowNorm);
  }
  return pyRound2((1 - similarity) * 100);
}

function weightNorm(doc: TermCounts, id: Int32Array, idf: Float64Array): number {
  let sq = 0;
  for (let i = 0; i < id.length; i++) {
    const w = doc.counts[i]! * idf[id[i]!]!;
    sq += w * w;
  }
  return Math.sqrt(sq);
}

/** Drift of `message` from `history` with `scorer`. */
export function driftScore(
  scorer: DriftScorer,
  message: string,
  history: readonly string[],
): number {
  return scorer === "tfidf" ? tfidfDrift(message, history) : jaccardDrift(message, history);
}
