/**
 * The ledger as a source: the lines other writers append (an agent's `audit_stub.py log`,
 * other MO§ES tools) become `ledger_entry` events as they land. The audits directory is
 * watched (nothing polls); each look reads only the bytes appended since the last one. At
 * start the ledger's last bytes are read back, so the entries of the minutes before are known.
 * The coordinator's own lines are skipped.
 * @module
 */
import { ledgerEntryEvent } from "../../ledger/mod.ts";
import type { LedgerEntryEvent } from "../../rules/mod.ts";
import { type Clock, errorText, parentDir, systemClock } from "../../util/mod.ts";
import type { Logger } from "../log.ts";

/** How much of the ledger's end is read back at start. */
export const LEDGER_READ_BACK_BYTES = 1024 * 1024;

/** A file watcher: the events, and a way to stop them. */
export interface DirWatcher extends AsyncIterable<{ paths: string[] }> {
  /** Stops watching; the iteration ends. */
  close(): void;
}

/** How the source is set up. */
export interface LedgerSourceOptions {
  /** The ledger file. */
  path: string;
  /** Receives each other writer's entry, in ledger order. */
  onEntry: (e: LedgerEntryEvent) => void;
  /** Where it logs. */
  logger: Logger;
  /** Time for the events (default: the system clock). */
  clock?: Clock;
  /** Watches a directory (tests; default Deno.watchFs). */
  watch?: (dir: string) => DirWatcher;
}

/** Turns appended lines into events. */
export class LedgerSource {
  readonly #o: LedgerSourceOptions;
  readonly #clock: Clock;
  #offset = 0;
  #ino: number | null = null;
  #watcher: DirWatcher | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #error: string | undefined;
  /** Other writers' entries read, and lines that were not entries. */
  readonly counters = { entries: 0, own: 0, invalid: 0, reads: 0 };

  /** Creates the source; nothing is read before {@link LedgerSource.start}. */
  constructor(opts: LedgerSourceOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Reads the ledger's recent end back, then watches for appends. */
  async start(): Promise<void> {
    // The watch first: a line appended while the ledger is read back is then seen by a look.
    try {
      this.#watcher = (this.#o.watch ?? ((d) => Deno.watchFs(d, { recursive: false })))(
        parentDir(this.#o.path),
      );
    } catch (err) {
      this.#o.logger.warn(
        `Cannot watch the audits directory for other writers' entries: ${errorText(err)}; ` +
          "the audit rule sees only what was there at start",
      );
    }
    await this.#read({ start: true });
    if (this.#watcher === undefined) return;
    const name = this.#o.path.slice(this.#o.path.lastIndexOf("/") + 1);
    void (async () => {
      try {
        for await (const ev of this.#watcher!) {
          if (ev.paths.some((p) => p.endsWith(`/${name}`) || p === name)) this.look();
        }
      } catch (err) {
        this.#o.logger.warn(`Stopped watching the ledger: ${errorText(err)}`);
      }
    })();
  }

  /** Reads what was appended since the last look (one read at a time; a look during one runs after it). */
  look(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          await this.#read({ start: false });
        } while (this.#again);
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  /** Stops watching. */
  stop(): void {
    this.#watcher?.close();
  }

  async #read(o: { start: boolean }): Promise<void> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#o.path, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return; // no ledger yet
      this.#warnOnce(`Cannot read the ledger for other writers' entries: ${errorText(err)}`);
      return;
    }
    try {
      const info = await file.stat();
      // At start, and for a ledger replaced since (rotated, made anew), only its last bytes are
      // read back, as for a new file: never the whole of a large ledger.
      const readBack = o.start || (this.#ino !== null && info.ino !== this.#ino);
      this.#ino = info.ino;
      if (info.size < this.#offset) this.#offset = info.size; // cut back (a torn line repaired)
      // From the middle of the file, one byte more: the first piece, up to its newline, is
      // part of a line (or, when that byte is a newline, nothing), and is dropped.
      let from = this.#offset;
      if (readBack) from = Math.max(0, info.size - LEDGER_READ_BACK_BYTES - 1);
      if (info.size <= from) return;
      this.counters.reads++;
      const bytes = new Uint8Array(info.size - from);
      await file.seek(from, Deno.SeekMode.Start);
      let got = 0;
      while (got < bytes.length) {
        const n = await file.read(bytes.subarray(got));
        if (n === null) break;
        got += n;
      }
      // Whole lines only, found in bytes (a read from the middle may start inside a character).
      const lastNewline = bytes.subarray(0, got).lastIndexOf(10);
      if (lastNewline < 0) return; // a line on its way: read again when it is whole
      this.#offset = from + lastNewline + 1;
      const text = new TextDecoder().decode(bytes.subarray(0, lastNewline));
      const lines = text.split("\n").slice(readBack && from > 0 ? 1 : 0);
      const source = o.start ? "catch-up" : "live";
      for (const line of lines) this.#line(line, source);
      this.#error = undefined;
    } catch (err) {
      this.#warnOnce(`Cannot read the ledger for other writers' entries: ${errorText(err)}`);
    } finally {
      file.close();
    }
  }

  #line(line: string, source: "live" | "catch-up"): void {
    if (line.trim() === "") return;
    let e: Record<string, unknown>;
    try {
      const parsed = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        this.counters.invalid++;
        return;
      }
      e = parsed;
    } catch {
      this.counters.invalid++;
      return;
    }
    const event = ledgerEntryEvent(e, { at: this.#clock.now(), source });
    if (event === "own") this.counters.own++;
    else if (event === undefined) this.counters.invalid++;
    else {
      this.counters.entries++;
      this.#o.onEntry(event);
    }
  }

  #warnOnce(message: string): void {
    if (message === this.#error) return;
    this.#error = message;
    this.#o.logger.warn(message);
  }
}
