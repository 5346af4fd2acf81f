/**
 * `run` (the daemon) and `release` as commands: the two that reach the gateway. Loaded by
 * the dispatcher only when one of them runs.
 * @module
 */
import {
  BatchedSink,
  declaredSet,
  type LogFormat,
  Logger,
  releaseSessions,
  runDaemon,
} from "../service/mod.ts";
import { EXIT_STOPPED_FOR_GOOD, type Paths } from "../util/mod.ts";
import { type Io, PROCESS_IO } from "./io.ts";
import { UsageError } from "./usage.ts";

/** What `run` was given on the command line, and its state directory's check. */
export interface RunOptions {
  paths: Paths;
  /** --gateway, if given. */
  gateway: string | undefined;
  /** --protocol, if given. */
  protocol: string | undefined;
  /** --log-format, if given. */
  logFormat: string | undefined;
  /** Why the state directory cannot be used; undefined when it can. */
  stateDirProblem(): Promise<string | undefined>;
}

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  const data = encoder.encode(text);
  let off = 0;
  while (off < data.length) off += Deno.stderr.writeSync(data.subarray(off));
}

// A binary built with another net grant (compile --port) connects there by default.
function defaultGateway(): string {
  return `ws://${declaredSet().net[0]}`;
}

/** Runs `run`, the daemon, until it stops; throws UsageError for a bad option. */
export async function runCommand(io: Io, opts: RunOptions): Promise<number> {
  const { paths } = opts;
  const format = opts.logFormat ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--log-format must be text or json, not ${format}`);
  }
  const gateway = opts.gateway ?? defaultGateway();
  if (!/^wss?:\/\/[^/]+/.test(gateway)) {
    throw new UsageError(`--gateway must be a ws:// or wss:// URL, not ${gateway}`);
  }
  const protocol = opts.protocol ?? "auto";
  if (protocol !== "auto" && protocol !== "openclaw" && protocol !== "legacy") {
    throw new UsageError(`--protocol must be auto, openclaw or legacy, not ${protocol}`);
  }
  // On the process's stderr, log lines go out in batches: a burst of violations must not
  // cost a write each.
  const batched = io === PROCESS_IO ? new BatchedSink(writeStderr) : undefined;
  try {
    const logger = new Logger(
      format as LogFormat,
      batched ? (line, level) => batched.line(line, level === "error") : io.err,
    );
    const problem = await opts.stateDirProblem();
    if (problem !== undefined) {
      // Not made here: a mistyped --state-dir must not become a new, empty state directory.
      logger.error(`${problem} (stopped; restarting will not help until this is fixed)`);
      return EXIT_STOPPED_FOR_GOOD;
    }
    return await runDaemon({ paths, gateway, protocol, logger });
  } finally {
    batched?.close();
  }
}

/** Runs `release`: gives back the sessions enforce prevent made read-only. */
export async function releaseCommand(
  io: Io,
  opts: { paths: Paths; gateway: string | undefined },
): Promise<number> {
  return await releaseSessions({
    paths: opts.paths,
    gateway: opts.gateway ?? defaultGateway(),
    logger: new Logger("text", io.err),
  });
}
