/**
 * Rules' deadlines (the audit rule waits out the clocks' slack for an agent's entry): one
 * timer, armed for the earliest deadline only while a rule has one; nothing runs otherwise.
 * @module
 */
import type { RuleEngine } from "../../rules/mod.ts";
import { type Clock, systemClock, type TimerId } from "../../util/mod.ts";

/** Keeps one timer at the rules' earliest deadline. */
export class RuleDeadlines {
  readonly #rules: RuleEngine;
  readonly #clock: Clock;
  #timer: TimerId | undefined;
  #due: number | undefined;
  #stopped = false;

  /** Watches `rules`' deadlines on `clock`. */
  constructor(rules: RuleEngine, clock: Clock = systemClock) {
    this.#rules = rules;
    this.#clock = clock;
  }

  /** Whether a timer is armed (for status and tests). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Looks at the rules' next deadline after something changed; arms, moves or drops the timer. */
  check(): void {
    if (this.#stopped) return;
    const due = this.#rules.nextDue();
    if (due === this.#due && (due === undefined || this.#timer !== undefined)) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = due;
    if (due === undefined) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#due = undefined;
      this.#rules.expire(this.#clock.now());
      this.check();
    }, Math.max(0, due - this.#clock.now()));
  }

  /** Drops the timer for good. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
