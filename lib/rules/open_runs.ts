/**
 * The agent runs that have started and not yet answered, bounded: what the audit rule
 * measures from, and what a governance change can catch in progress. Pure.
 * @module
 */
import type { RunEvent } from "./event.ts";

/** A run that has started. */
export interface OpenRun {
  /** The run id. */
  run: string;
  /** Its agent. */
  agent: string;
  /** Its conversation. */
  conversation: string;
  /** Its session key, when known. */
  session: string | undefined;
  /** When it started (the gateway's clock), ms. */
  startedAt: number;
  /** When the coordinator saw it start (its clock), ms. */
  seenAt: number;
}

/** The key of a run: its session (or conversation) and run id. */
export function runKey(e: Pick<RunEvent, "session" | "conversation" | "run">): string {
  return `${e.session ?? e.conversation}\n${e.run}`;
}

/** Started runs, oldest first, at most `max`; the oldest are forgotten first. */
export class OpenRuns {
  readonly #runs = new Map<string, OpenRun>();

  /** Keeps at most `max` runs. */
  constructor(readonly max: number) {}

  /** Runs open now. */
  get size(): number {
    return this.#runs.size;
  }

  /** Records a run's start. */
  start(e: RunEvent): void {
    const key = runKey(e);
    this.#runs.delete(key);
    this.#runs.set(key, {
      run: e.run,
      agent: e.agent,
      conversation: e.conversation,
      session: e.session,
      startedAt: e.recordedAt,
      seenAt: e.at,
    });
    while (this.#runs.size > this.max) this.#runs.delete(this.#runs.keys().next().value as string);
  }

  /** Ends a run; returns its start, if it was seen. */
  end(e: RunEvent): OpenRun | undefined {
    const key = runKey(e);
    const r = this.#runs.get(key);
    this.#runs.delete(key);
    return r;
  }

  /** The runs open now, oldest first. */
  list(): OpenRun[] {
    return [...this.#runs.values()];
  }

  /** Forgets runs seen starting more than `ttlMs` before `now`. */
  expire(now: number, ttlMs: number): void {
    for (const [key, r] of this.#runs) {
      if (now - r.seenAt < ttlMs) break;
      this.#runs.delete(key);
    }
  }

  /** The saved form: `[[run, agent, conversation, session, startedAt, seenAt], …]`. */
  toJSON(): unknown[] {
    return this.list().map((r) => [
      r.run,
      r.agent,
      r.conversation,
      r.session ?? null,
      r.startedAt,
      r.seenAt,
    ]);
  }

  /** Restores the saved form; throws a clear error on a malformed entry. */
  restore(saved: unknown): void {
    if (!Array.isArray(saved)) throw new Error('"started" must be a list');
    for (const [i, r] of saved.entries()) {
      if (
        !Array.isArray(r) || typeof r[0] !== "string" || typeof r[1] !== "string" ||
        typeof r[2] !== "string" || typeof r[4] !== "number" || typeof r[5] !== "number"
      ) throw new Error(`started run ${i} is malformed`);
      const run: OpenRun = {
        run: r[0],
        agent: r[1],
        conversation: r[2],
        session: typeof r[3] === "string" ? r[3] : undefined,
        startedAt: r[4],
        seenAt: r[5],
      };
      this.#runs.set(runKey(run), run);
    }
  }
}
