/**
 * Exit codes, chosen so that a service manager can tell a transient failure from one
 * that a restart will not fix. Documented in the README.
 * @module
 */

/** Stopped cleanly (SIGTERM/SIGINT), or the command succeeded; verify: the ledger is intact. */
export const EXIT_OK = 0;
/**
 * run: stopped for a reason a restart cannot fix (a refused token, an invalid config, a
 * missing permission); the last log line says which. Zero, so that launchd (KeepAlive with
 * SuccessfulExit false) and systemd (Restart=on-failure) do not restart it in a loop.
 */
export const EXIT_STOPPED_FOR_GOOD = 0;
/** verify: the ledger has problems. run: an unexpected failure (a restart may help). */
export const EXIT_FAILURE = 1;
/** Bad command-line usage. */
export const EXIT_USAGE = 2;
/** An input file cannot be read (verify, replay, status). */
export const EXIT_NO_INPUT = 66;
/** A needed permission is missing (Deno sandbox or file mode): restarting will not help. */
export const EXIT_NO_PERMISSION = 77;
/** The configuration is invalid: restarting will not help until it is fixed. */
export const EXIT_CONFIG = 78;
/** status: the daemon runs, but DEGRADED (the ledger cannot be written, violations dropped). */
export const EXIT_STATUS_DEGRADED = 10;
/** status: the daemon runs, but is not connected to the gateway (or not yet). */
export const EXIT_STATUS_DISCONNECTED = 11;
/** status: the daemon stopped, and said so in its last report. */
export const EXIT_STATUS_STOPPED = 12;
/** status: the daemon is gone without a last report (killed, crashed, the machine stopped). */
export const EXIT_STATUS_GONE = 13;
