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
    readonly sink: (line: string) => void = (line) => console.error(line),
    readonly clock: () => number = Date.now,
  ) {}

  /** Logs `msg` with structured `fields`. */
  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    const ts = new Date(this.clock()).toISOString();
    if (this.format === "json") {
      this.sink(JSON.stringify({ ts, level, msg, ...fields }));
      return;
    }
    // Messages quote gateway data (conversation ids): a newline in one must not forge a line.
    let line = `${ts} ${level.toUpperCase().padEnd(5)} ${escapeControls(msg)}`;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const s = typeof v === "string" ? v : JSON.stringify(v);
      line += ` ${k}=${/[\s"=\p{Cc}]/u.test(s) || s === "" ? JSON.stringify(s) : s}`;
    }
    this.sink(line);
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
