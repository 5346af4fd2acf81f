/**
 * The two tokenisations commitment.py relies on, as Python computes them: scikit-learn's
 * default analyser (lower-case, then runs of two or more word characters, then stop words
 * dropped), and `str.lower().split()`. Pure.
 * @module
 */
import { ENGLISH_STOP_WORDS } from "./stop_words.ts";

// Python's `\w` on str patterns: letters (L*), numbers (N*) and the underscore; combining
// marks are not word characters (so "i̇stanbul", the lower case of "İstanbul", gives "stanbul").
// `(?u)\b\w\w+\b` matches exactly the maximal runs of two or more of them, which a greedy
// global match of the class finds too; the `u` flag counts code points, as Python does.
const TOKEN = /[\p{L}\p{N}_]{2,}/gu;

// Python's str.isspace (what `str.split()` splits on): Unicode White_Space plus the
// information separators U+001C to U+001F; not U+200B or U+FEFF.
// deno-lint-ignore no-control-regex -- the separators are whitespace to Python
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * The terms scikit-learn's `TfidfVectorizer(stop_words="english")` counts in `text`, in
 * order, repeats kept.
 */
export function tfidfTerms(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(TOKEN)) {
    const t = m[0];
    if (!ENGLISH_STOP_WORDS.has(t)) out.push(t);
  }
  return out;
}

/** `set(text.lower().split())`, as Python computes it. */
export function wordSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of text.toLowerCase().split(PY_SPACE)) if (w !== "") out.add(w);
  return out;
}
