/**
 * Findings on their way out: each is logged and queued for the ledger, in order, through
 * one chain with an error boundary (one failure loses nothing after it). A finding found by
 * a catch-up may have been written just before a crash that lost the snapshot update: its
 * id comes from its event, and an id already at the end of the ledger is not written again.
 * @module
 */
import type { LedgerWriter } from "../../ledger/mod.ts";
import { type Finding, isSequenceFinding, type RuleEvent } from "../../rules/mod.ts";
import { errorText } from "../../util/mod.ts";
import type { Logger } from "../log.ts";

/** How the output is set up. */
export interface FindingsOutputOptions {
  /** Queues each finding for the ledger. */
  writer: Pick<LedgerWriter, "enqueue">;
  /** Where each finding is logged. */
  logger: Logger;
  /** The finding ids in the ledger's last part (read once per catch-up). */
  readTailIds: () => Promise<Set<string>>;
  /**
   * Each finding new to the ledger, once queued (not one found again after a crash, nor one
   * dropped with the queue full); must not throw.
   */
  onQueued?: (f: Finding, event: RuleEvent) => void;
}

/** Logs findings and hands them to the ledger writer, in order. */
export class FindingsOutput {
  readonly #o: FindingsOutputOptions;
  #chain: Promise<void> = Promise.resolve();
  #failures = 0;
  // The ledger's ids, read at the first finding of a catch-up and used for all of its findings.
  #tailIds: Promise<Set<string>> | undefined;
  #tailReads = 0;
  // Accepted and not yet handed to the writer, oldest first: the snapshot lists them too, or
  // a crash while a catch-up waits for the ledger's end would lose them.
  // A queue with a moving head: shift() on a long array copies it, once per finding.
  #waiting: Finding[] = [];
  #head = 0;

  /** Creates the output. */
  constructor(opts: FindingsOutputOptions) {
    this.#o = opts;
  }

  /** Findings that could not be queued because something threw (each logged). */
  get failures(): number {
    return this.#failures;
  }

  /** How many times the ledger's end was read to match caught-up findings. */
  get tailReads(): number {
    return this.#tailReads;
  }

  /** A catch-up has ended: the next one reads the ledger's end afresh. */
  catchUpDone(): void {
    this.#tailIds = undefined;
  }

  /**
   * Takes a finding (made from `event`); it is queued after every finding before it. With
   * `later`, what it settles as is queued in its place once it settles (the findings after it
   * wait); until then the snapshot lists `f`, so a crash meanwhile writes `f`.
   */
  accept(f: Finding, event: RuleEvent, later?: Promise<Finding>): void {
    let written: Promise<Set<string>> | undefined;
    if (event.source === "catch-up") {
      this.#o.logger.info("violation found while catching up", {
        session: "session" in event ? event.session : undefined,
      });
      written = this.#tailIds ??= this.#readTail();
    }
    this.#waiting.push(f);
    // A settlement that fails leaves `f` as it is.
    const settles = later?.then((settled) => {
      const i = this.#waiting.indexOf(f, this.#head);
      if (i >= 0) this.#waiting[i] = settled;
      return settled;
    }, () => f);
    this.#chain = this.#chain.then(async () => {
      try {
        if (settles !== undefined) f = await settles;
        if (written !== undefined && await this.#alreadyWritten(f, written)) return;
        this.#o.logger.warn(f.detail, logFields(f));
        // A finding dropped (the queue full) gets no ledger entry: nothing to point a notice at.
        if (this.#o.writer.enqueue(f)) this.#o.onQueued?.(f, event);
      } catch (err) {
        // The boundary: a throw here (a log sink, the writer) must not skip the findings after it.
        this.#failures++;
        try {
          this.#o.logger.error(`Cannot queue a finding for the ledger: ${errorText(err)}`, {
            id: f.id,
          });
        } catch {
          // Nothing left to tell.
        }
      } finally {
        // Findings leave in the order they came: this one is the oldest waiting.
        this.#done();
      }
    });
  }

  /** The findings accepted and not yet handed to the writer, oldest first. */
  inFlight(): readonly Finding[] {
    return this.#waiting.slice(this.#head);
  }

  /** Resolves once every finding accepted so far has been queued or skipped. */
  settled(): Promise<void> {
    return this.#chain;
  }

  #done(): void {
    this.#head++;
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }

  #readTail(): Promise<Set<string>> {
    this.#tailReads++;
    const read = this.#o.readTailIds();
    // A failed read is reported by each finding that waits on it; none is lost.
    read.catch(() => {});
    return read;
  }

  async #alreadyWritten(f: Finding, written: Promise<Set<string>>): Promise<boolean> {
    try {
      if ((await written).has(f.id)) {
        this.#o.logger.info("violation already in the ledger; not written again", { id: f.id });
        return true;
      }
    } catch (err) {
      this.#o.logger.warn(`Cannot read the ledger's end to match a violation: ${errorText(err)}`);
    }
    return false;
  }
}

// The log fields of a finding: a sequence finding's as they always were.
function logFields(f: Finding): Record<string, unknown> {
  if (isSequenceFinding(f)) {
    return {
      event: "violation",
      conversation: f.conversation,
      agent: f.agent,
      role: f.data.role,
      expected: f.data.expected,
    };
  }
  return { event: "violation", rule: f.rule, conversation: f.conversation, agent: f.agent };
}
