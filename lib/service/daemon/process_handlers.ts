/**
 * The daemon's process-wide handlers: stop signals, and operations the Deno sandbox refuses.
 * @module
 */
import type { Logger } from "../log.ts";

/** What the handlers report, and how to remove them. */
export interface ProcessHandlers {
  /** Resolves at the first stop request (signal, `stopSignal`, or {@link requestStop}). */
  readonly stopped: Promise<void>;
  /** Requests a stop (e.g. the link stopped for good). */
  requestStop(): void;
  /** Operations the sandbox refused so far, and the last one's message. */
  denials(): { denials: number; last?: string };
  /** Removes the error handlers; the signal listeners stay (see below). */
  dispose(): void;
  /** Removes the signal listeners too: for a daemon run inside another program (tests). */
  removeSignalListeners(): void;
}

/** Installs the handlers. */
export function installProcessHandlers(opts: {
  logger: Logger;
  /** Resolves when the daemon should stop (tests). */
  stopSignal?: Promise<void>;
  /** A stop was asked for while already stopping. */
  onRepeatedStop: () => void;
  /** The sandbox refused something (status should say so). */
  onDenied: () => void;
}): ProcessHandlers {
  const { logger } = opts;
  let denials = 0;
  let lastDenial: string | undefined;
  // Nothing the coordinator does should be refused by the sandbox. If something in the
  // process tries anyway (a bug, or a dependency reaching out), the refusal is logged and
  // counted and the daemon keeps watching; any other uncaught error still ends it (exit 1).
  const onDenied = (err: unknown, event: Event) => {
    if (!(err instanceof Deno.errors.NotCapable)) return;
    event.preventDefault();
    denials++;
    lastDenial = err.message;
    logger.error(`The sandbox denied an operation: ${err.message}; the coordinator keeps running`, {
      event: "sandbox_denied",
    });
    opts.onDenied();
  };
  const onUncaught = (e: ErrorEvent) => onDenied(e.error, e);
  const onRejection = (e: PromiseRejectionEvent) => onDenied(e.reason, e);
  globalThis.addEventListener("error", onUncaught);
  globalThis.addEventListener("unhandledrejection", onRejection);

  let requestStop!: () => void;
  const stopped = new Promise<void>((r) => (requestStop = r));
  let stopping = false;
  const onSignal = () => {
    // A service manager, a launcher and a terminal may each pass the same stop on. The
    // listeners stay until the process exits: main exits with the code returned, and a
    // signal arriving in between must not turn a clean stop into a kill.
    if (stopping) opts.onRepeatedStop();
    stopping = true;
    requestStop();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  opts.stopSignal?.then(onSignal);

  return {
    stopped,
    requestStop: () => {
      stopping = true;
      requestStop();
    },
    denials: () => ({ denials, ...(lastDenial ? { last: lastDenial } : {}) }),
    dispose: () => {
      globalThis.removeEventListener("error", onUncaught);
      globalThis.removeEventListener("unhandledrejection", onRejection);
    },
    removeSignalListeners: () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    },
  };
}
