/**
 * Notices to the operator, the pure part: what a notice says (made from a finding, never an
 * agent's text or a tool's arguments), which scope its channel needs, and the gate that lets
 * at most one notice per conversation through in each interval.
 * @module
 */
import type { Finding } from "../../rules/mod.ts";
import type { Config, NotifyChannel } from "../config.ts";
import { WRITE_SCOPE } from "./scopes.ts";

/** The scope each channel needs from the gateway. */
export const NOTIFY_SCOPE: Readonly<Record<Exclude<NotifyChannel, "off">, string>> = {
  question: "operator.questions",
  node: WRITE_SCOPE,
};

/** The scopes the notify channel needs, to add to those asked for at connect (none when off). */
export function notifyScopes(config: Pick<Config, "notify">): string[] {
  const c = config.notify.channel;
  return c === "off" ? [] : [NOTIFY_SCOPE[c]];
}

/** What a notice says. */
export interface Notice {
  /** A short title: what kind of violation. */
  title: string;
  /** The finding's one-line detail (bounded), then rule, conversation, agent and ledger entry id. */
  body: string;
  /** The rule that made the finding. */
  rule: string;
  /** The conversation, or "" for findings that concern none (a governance change). */
  conversation: string;
  /** The ledger entry's id (the finding's id, `<key>.id` in the ledger). */
  entryId: string;
}

/** The longest a finding's detail may be in a notice, in characters. */
export const MAX_DETAIL_CHARS = 300;

/**
 * The notice for `f`. A finding's `detail` is one line the rules compose from names, roles,
 * classes and counts (never an agent's text or a tool's arguments: each rule promises so, and
 * the ledger holds the same line); it is still bounded and flattened to one line here.
 */
export function noticeOf(f: Finding): Notice {
  const detail = oneLine(f.detail, MAX_DETAIL_CHARS);
  const conversation = f.conversation ?? "";
  const facts = [
    `rule ${f.rule}`,
    ...(conversation !== "" ? [`conversation ${oneLine(conversation, 120)}`] : []),
    ...(f.agent !== undefined ? [`agent ${oneLine(f.agent, 120)}`] : []),
    `ledger entry ${f.id}`,
  ];
  return {
    title: `MO§ES: ${f.action.replaceAll("_", " ")}`,
    body: `${detail} (${facts.join("; ")})`,
    rule: f.rule,
    conversation,
    entryId: f.id,
  };
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\p{Cc}+/gu, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Conversations remembered by the gate at most; past it, the longest quiet are forgotten. */
export const MAX_GATED_CONVERSATIONS = 10_000;

/**
 * At most one notice per conversation per interval. A conversation is taken when a notice
 * for it starts (so a burst of findings while one is on its way gives one notice); a notice
 * that fails gives it back, so the next finding tries again.
 */
export class NoticeGate {
  readonly #intervalMs: number;
  readonly #max: number;
  // Conversation -> when its last notice started, oldest first (re-inserted on each take).
  readonly #last = new Map<string, number>();

  /** A gate with `intervalMs` between two notices of one conversation. */
  constructor(intervalMs: number, max = MAX_GATED_CONVERSATIONS) {
    this.#intervalMs = intervalMs;
    this.#max = max;
  }

  /** Conversations remembered. */
  get size(): number {
    return this.#last.size;
  }

  /** Whether a notice for `conversation` may go at `now`; if so, the conversation is taken. */
  take(conversation: string, now: number): boolean {
    const last = this.#last.get(conversation);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#last.delete(conversation);
    this.#last.set(conversation, now);
    while (this.#last.size > this.#max) {
      this.#last.delete(this.#last.keys().next().value!);
    }
    return true;
  }

  /** The notice taken at `at` for `conversation` failed: the next finding may try again. */
  giveBack(conversation: string, at: number): void {
    if (this.#last.get(conversation) === at) this.#last.delete(conversation);
  }
}
