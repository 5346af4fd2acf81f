/**
 * One line per event on stderr, as text or JSON.
 * @module
 */

/** Output format of log lines. */
export type LogFormat = "text" | "json";
/** Severity of a log line. */
export type LogLevel = "info" | "warn" | "error";

/** Writes log lines to a sink (stderr by default). */
export class Logger {
  /** `sink` receives each finished line without its newline. */
  constructor(
    readonly format: LogFormat = "text",
    readonly sink: (line: string, level: LogLevel) => void = (line) => console.error(line),
    readonly clock: () => number = Date.now,
  ) {}

  /** Logs `msg` with structured `fields`. */
  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    const ts = new Date(this.clock()).toISOString();
    if (this.format === "json") {
      this.sink(JSON.stringify({ ts, level, msg, ...fields }), level);
      return;
    }
    // Messages quote gateway data (conversation ids): a newline in one must not forge a line.
    let line = `${ts} ${level.toUpperCase().padEnd(5)} ${escapeControls(msg)}`;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const s = typeof v === "string" ? v : JSON.stringify(v);
      line += ` ${k}=${/[\s"=\p{Cc}]/u.test(s) || s === "" ? JSON.stringify(s) : s}`;
    }
    this.sink(line, level);
  }

  /** Logs at info level. */
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }
  /** Logs at warn level. */
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }
  /** Logs at error level. */
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }
}

function escapeControls(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1));
}

/**
 * A sink that writes lines to `write` in batches: a burst of violations costs one write per
 * batch instead of one per line. Batches go out after `delayMs`, once they reach `maxBytes`,
 * when an error is logged, and when the process exits.
 */
export class BatchedSink {
  #lines: string[] = [];
  #bytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onUnload = () => this.flush();

  /** `write` receives whole lines, each ending in a newline. */
  constructor(
    readonly write: (text: string) => void,
    readonly delayMs = 5,
    readonly maxBytes = 64 * 1024,
  ) {
    globalThis.addEventListener("unload", this.#onUnload);
  }

  /** Queues a line; `urgent` (errors) writes it and everything before it at once. */
  line(line: string, urgent = false): void {
    this.#lines.push(line);
    this.#bytes += line.length + 1;
    if (urgent || this.#bytes >= this.maxBytes) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.delayMs);
    }
  }

  /** Writes every queued line now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    this.#bytes = 0;
    this.write(text);
  }

  /** Flushes and stops listening for exit. */
  close(): void {
    this.flush();
    globalThis.removeEventListener("unload", this.#onUnload);
  }
}
