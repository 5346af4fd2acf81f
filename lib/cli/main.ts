/**
 * The command line: `run`, `replay`, `verify`, `status`, `permissions`, `--version`.
 * @module
 */
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig, scopesAsked } from "../service/mod.ts";
import { releaseSessions, runDaemon } from "../service/mod.ts";
import {
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_NO_INPUT,
  EXIT_NO_PERMISSION,
  EXIT_OK,
  EXIT_STOPPED_FOR_GOOD,
  EXIT_USAGE,
} from "../util/mod.ts";
import { ensurePrivateDir, errorText, isPermissionError, parentDir } from "../util/mod.ts";
import { readGovernance } from "../service/mod.ts";
import {
  auditPermissions,
  declaredSet,
  type DeniedContext,
  explainDenied,
  formatAudit,
  liveQuery,
} from "../service/mod.ts";
import { BatchedSink, type LogFormat, Logger } from "../service/mod.ts";
import { type Paths, resolvePaths } from "../util/mod.ts";
import { type AppendedReplay, appendReplayed, readLines, replayLines } from "./replay.ts";
import { classifyCall } from "./classify.ts";
import {
  EXIT_STATUS_DEGRADED,
  EXIT_STATUS_DISCONNECTED,
  EXIT_STATUS_GONE,
  EXIT_STATUS_STOPPED,
} from "../util/mod.ts";
import {
  daemonLiveness,
  formatStatus,
  type Liveness,
  livenessOf,
  parseStatus,
  type StatusReport,
} from "../service/mod.ts";
import { type DuplicateId, verifyLedger, type VerifyReport } from "../ledger/mod.ts";
import { versionText } from "../version.ts";
import { logCommand, reportCommand } from "./ledger_commands.ts";
import { TIME_FORMS } from "./time_spec.ts";
import { UsageError } from "./usage.ts";

/** Where the CLI writes; replaceable in tests. */
export interface Io {
  /** Writes a line to standard output. */
  out(text: string): void;
  /** Writes a line to standard error. */
  err(text: string): void;
  /** Whether stderr is a terminal (for the progress bar). */
  errIsTerminal(): boolean;
  /** Writes progress without a newline. */
  errRaw(text: string): void;
  /** Standard input (for `replay -`). */
  stdin(): ReadableStream<Uint8Array>;
  /** Whether to colour standard output (`log`, `report`): a terminal, NO_COLOR not set. */
  colour?(): boolean;
}

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  const data = encoder.encode(text);
  let off = 0;
  while (off < data.length) off += Deno.stderr.writeSync(data.subarray(off));
}

/** The process's real standard streams. */
export const PROCESS_IO: Io = {
  out: (t) => console.log(t),
  err: (t) => console.error(t),
  errIsTerminal: () => Deno.stderr.isTerminal(),
  errRaw: (t) => void Deno.stderr.writeSync(encoder.encode(t)),
  stdin: () => Deno.stdin.readable,
  colour: () => Deno.stdout.isTerminal() && !Deno.noColor,
};

const MAIN_HELP = `moses-coordinator: watches an OpenClaw gateway for agents answering out of turn
and records each violation in the MO§ES audit ledger.

Usage: moses-coordinator <command> [options]

Commands:
  run       Watch the gateway and record violations (the daemon)
  release   Give back the sessions enforce prevent made read-only (uninstall runs it)
  replay    Feed recorded frames through the rule offline
  verify    Check every line of the ledger's hash chain
  status    Show the daemon's state (a health check: exit 0 when connected)
  log       Show the ledger's entries (every writer's); -n, --follow
  report    Count the ledger's entries, its health and its chain
  permissions
            Show the declared permission set and what this process is granted
  classify  Show how a tool call is classified (read, write, outbound, ...) and why

Options:
  -V, --version   Print the version, the Deno version and the target
  -h, --help      Print this help (also: <command> --help)

Paths are resolved against the OpenClaw state directory: the working directory,
or --state-dir DIR.`;

/** One option: how the parser reads it and how `--help` shows it. */
interface OptionSpec {
  type: "string" | "boolean";
  /** A one-letter form (`-n`). */
  short?: string;
  /** The value's name in the help, for a string option. */
  value?: string;
  /** The help text; lines after the first are indented under it. */
  help: string;
}

/** One command: its help text and the options the parser takes, from one table. */
interface CommandSpec {
  /** What follows the command in the usage line, before the options. */
  args?: string;
  /** The help between the usage line and the options. */
  about: string;
  options: Record<string, OptionSpec>;
}

const STATE_DIR: OptionSpec = {
  type: "string",
  value: "DIR",
  help: "OpenClaw state directory (default: the working directory)",
};
const LEDGER: OptionSpec = {
  type: "string",
  value: "PATH",
  help: "Ledger file, relative to the state directory\n" +
    "(default: audits/moses/audit_ledger.jsonl)",
};
const JSON_OUT: OptionSpec = { type: "boolean", help: "Print machine-readable JSON" };

// The help and the parser both come from this table, so they cannot disagree.
const COMMANDS: Record<string, CommandSpec> = {
  run: {
    about: `Watches the gateway's session events and appends each sequence violation to the
ledger. Logs one line per violation and per connection change to stderr.
SIGTERM or SIGINT finishes the append under way and exits 0. A problem a restart
cannot fix (a refused gateway token, an invalid config, a missing permission, a
missing state directory) is logged and also ends the run with exit 0, so a service
manager does not restart it in a loop; any other failure exits 1.

The gateway token is read from OPENCLAW_GATEWAY_TOKEN, else from gateway.auth.token
in openclaw.json in the state directory.`,
    options: {
      "state-dir": STATE_DIR,
      gateway: {
        type: "string",
        value: "URL",
        help: "Gateway WebSocket URL (default: ws://127.0.0.1:18789)",
      },
      protocol: {
        type: "string",
        value: "P",
        help: "auto, openclaw or legacy (default: auto: a gateway that opens\n" +
          "with connect.challenge speaks OpenClaw's protocol; a silent one\n" +
          "gets the legacy subscription)",
      },
      ledger: LEDGER,
      "log-format": { type: "string", value: "FMT", help: "text or json (default: text)" },
    },
  },
  release: {
    about: `Gives every session that enforce prevent made read-only its mode back (a mode
changed by someone else since is left as it is), and clears the record. Run it with
the daemon stopped: uninstall.sh does, after stopping the service. Asks the gateway
for operator.write. Exits 0 when nothing is left read-only by the coordinator, 1 when
a session could not be given back (it stays recorded: run release again).`,
    options: {
      "state-dir": STATE_DIR,
      gateway: { type: "string", value: "URL", help: "Gateway WebSocket URL (default: as run)" },
    },
  },
  replay: {
    args: "FILE|-",
    about: `Feeds recorded frames (one JSON frame per line) through the same rule as run and
prints the violations. Nothing is written unless --ledger is given. Under the
permission set, a recording outside it is read from standard input: replay - < FILE.`,
    options: {
      "state-dir": STATE_DIR,
      ledger: {
        type: "string",
        value: "PATH",
        help: "Also append the violations to this ledger, relative to the\n" +
          "state directory (its directory is made, 0700, if missing)",
      },
      json: JSON_OUT,
    },
  },
  verify: {
    about: `Checks every line of the ledger as audit_stub.py verify does and reports every
problem with its line number. Exits 0 when the ledger is intact, 1 when not.`,
    options: { "state-dir": STATE_DIR, ledger: LEDGER, json: JSON_OUT },
  },
  status: {
    about: `Shows the daemon's state and counters, as it last wrote them (on each change;
counters at most every 2 s while they move), and whether it runs (by its lock).
A health check: exits 0 when the daemon runs and is connected; 10 when it runs
DEGRADED, 11 when it runs but is not connected, 12 when it stopped, 13 when it is
gone without a last report (killed, crashed); 66 when it never ran here.`,
    options: {
      "state-dir": STATE_DIR,
      json: { type: "boolean", help: "Print the status file as JSON" },
    },
  },
  classify: {
    args: "TOOL [ARGS_JSON]",
    about: `Shows the class the coordinator gives a call of TOOL with the arguments
ARGS_JSON (a JSON object, default {}), and why: the built-in table with the
config's "tools" overrides (governance/coordinator.jsonc in the state directory).
Example: moses-coordinator classify exec '{"command":"rm -rf build"}'`,
    options: { "state-dir": STATE_DIR, json: JSON_OUT },
  },
  log: {
    about: `Shows the ledger's entries, every writer's (the coordinator's and audit_stub.py's),
oldest first: time (UTC), agent, action, outcome, detail, one line each; coloured
on a terminal unless NO_COLOR is set. A line that is not a valid entry is shown as
such with its line number. With -n, the file is read from its end: the head is
not read (an invalid line among the last N is numbered by one count of the file's
newlines). With --follow, new entries are shown as they are appended, until
Ctrl-C (exit 0); a ledger cut back or replaced is said on stderr and followed on.
Times for --since and --until: ${TIME_FORMS}.`,
    options: {
      "state-dir": STATE_DIR,
      ledger: LEDGER,
      lines: { type: "string", short: "n", value: "N", help: "Only the last N matching entries" },
      since: { type: "string", value: "T", help: "Entries at or after T" },
      until: { type: "string", value: "T", help: "Entries at or before T" },
      action: { type: "string", value: "A", help: "Entries with this action" },
      agent: { type: "string", value: "A", help: "Entries written by this agent" },
      conversation: {
        type: "string",
        value: "C",
        help: "Entries about this conversation (a finding's)",
      },
      outcome: { type: "string", value: "O", help: "Entries with this outcome (any case)" },
      json: {
        type: "boolean",
        help: "One JSON object per line: each entry as written;\n" +
          'an invalid line as {"line", "invalid", "text"}',
      },
      follow: { type: "boolean", short: "f", help: "Keep showing entries as they land" },
    },
  },
  report: {
    about: `Reads the ledger once: counts its entries by action, agent, conversation,
outcome and day; lists posture changes; computes the MO§ES health figures as
govern_loop.py resilience does (fault rate, fault clustering, verdict HEALTHY,
CAUTION or DEGRADED); draws the coordinator's findings per day; and checks the
hash chain on the way, as verify does. Exits 0 when it could read the ledger,
whatever it found (verify is the check that fails).
Times for --since: ${TIME_FORMS}.`,
    options: {
      "state-dir": STATE_DIR,
      ledger: LEDGER,
      since: {
        type: "string",
        value: "T",
        help: "Count entries at or after T (the chain is\nchecked whole)",
      },
      json: JSON_OUT,
    },
  },
  permissions: {
    about: `Prints the permission set the coordinator is built and run with (deno.json,
"coordinator"), each path resolved to the absolute path it grants in this
working directory, the live state of each grant (granted / denied), and the
kinds not granted at all (or, in a process started with more, granted beyond
the set). The grants are relative: run this in the directory the service starts
in (its WorkingDirectory, the OpenClaw state directory) to see what the daemon
may touch there.`,
    options: { json: JSON_OUT },
  },
};

const HELP_INDENT = 21;

function helpText(name: string, spec: CommandSpec): string {
  const lines = [
    `Usage: moses-coordinator ${name}${spec.args ? ` ${spec.args}` : ""} [options]`,
    "",
    spec.about,
    "",
    "Options:",
  ];
  const entries: [string, string][] = Object.entries(spec.options).map(([flag, o]) => [
    `${o.short !== undefined ? `-${o.short}, ` : ""}--${flag}${
      o.value !== undefined ? ` ${o.value}` : ""
    }`,
    o.help,
  ]);
  entries.push(["-h, --help", "Print this help"]);
  for (const [flag, help] of entries) {
    lines.push(
      `  ${flag.padEnd(HELP_INDENT - 3)} ` +
        help.split("\n").join(`\n${" ".repeat(HELP_INDENT)}`),
    );
  }
  return lines.join("\n");
}

type Options = NonNullable<ParseArgsConfig["options"]>;

function parserOptions(spec: CommandSpec): Options {
  const options: Options = { help: { type: "boolean", short: "h" } };
  for (const [flag, o] of Object.entries(spec.options)) {
    options[flag] = { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}) };
  }
  return options;
}

function parse(command: string, args: string[]) {
  try {
    return parseArgs({
      args,
      options: parserOptions(COMMANDS[command]!),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(errorText(err));
  }
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[], io: Io = PROCESS_IO): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(MAIN_HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === "--version" || command === "-V") {
    io.out(versionText());
    return EXIT_OK;
  }
  if (!Object.hasOwn(COMMANDS, command)) {
    io.err(`Unknown command: ${command}. Run 'moses-coordinator --help' for the commands.`);
    return EXIT_USAGE;
  }
  try {
    const { values, positionals } = parse(command, rest);
    if (values.help) {
      io.out(helpText(command, COMMANDS[command]!));
      return EXIT_OK;
    }
    const givenStateDir = values["state-dir"] as string | undefined;
    const stateDir = givenStateDir ?? ".";
    const ledger = values.ledger as string | undefined;
    const paths = resolvePaths(stateDir, ledger);
    // Checked after the usage, before anything reads or makes a path under it.
    const stateDirUnusable = async () =>
      givenStateDir !== undefined ? await stateDirProblem(givenStateDir) : undefined;
    switch (command) {
      case "run": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const format = (values["log-format"] as string | undefined) ?? "text";
        if (format !== "text" && format !== "json") {
          throw new UsageError(`--log-format must be text or json, not ${format}`);
        }
        // A binary built with another net grant (compile --port) connects there by default.
        const gateway = (values.gateway as string | undefined) ?? `ws://${declaredSet().net[0]}`;
        if (!/^wss?:\/\/[^/]+/.test(gateway)) {
          throw new UsageError(`--gateway must be a ws:// or wss:// URL, not ${gateway}`);
        }
        const protocol = (values.protocol as string | undefined) ?? "auto";
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
          const problem = await stateDirUnusable();
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
      case "release": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        const gateway = (values.gateway as string | undefined) ?? `ws://${declaredSet().net[0]}`;
        return await releaseSessions({ paths, gateway, logger: new Logger("text", io.err) });
      }
      case "replay": {
        if (positionals.length !== 1) {
          throw new UsageError("replay takes one FILE (or - for standard input)");
        }
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        return await replayCommand(io, {
          input: positionals[0]!,
          paths,
          ledger: ledger !== undefined ? paths.ledger : undefined,
          json: values.json === true,
        });
      }
      case "verify": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        return await verifyCommand(io, paths.ledger, values.json === true);
      }
      case "status": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        return await statusCommand(io, paths, {
          json: values.json === true,
          stateDirGiven: givenStateDir !== undefined,
        });
      }
      case "classify": {
        if (positionals.length < 1 || positionals.length > 2) {
          throw new UsageError("classify takes TOOL and, optionally, ARGS_JSON");
        }
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        return await classifyCommand(io, {
          tool: positionals[0]!,
          args: positionals[1],
          paths,
          json: values.json === true,
        });
      }
      case "log":
      case "report": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        const run = command === "log" ? logCommand : reportCommand;
        return await run(
          { out: io.out, err: io.err, colour: () => io.colour?.() ?? false },
          values,
          { path: paths.ledger, denial: denialText, now: Date.now() },
        );
      }
      case "permissions": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const audit = auditPermissions(declaredSet(), Deno.cwd(), liveQuery);
        const scopes = await gatewayScopes(paths);
        io.out(
          values.json === true
            ? JSON.stringify({ ...audit, gatewayScopes: scopes }, null, 2)
            : `${formatAudit(audit)}\n\n${formatScopes(scopes)}`,
        );
        return EXIT_OK;
      }
    }
    return EXIT_USAGE;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}. Run 'moses-coordinator ${command} --help' for usage.`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

/** Why the state directory named by --state-dir cannot be used; undefined when it can. */
async function stateDirProblem(stateDir: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(stateDir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return `Cannot use state directory ${resolve(stateDir)}: it does not exist; create it or ` +
        "pass the OpenClaw state directory";
    }
    // Refused by the sandbox (its grants bind to the working directory): the command's own
    // access then names the grant.
    return undefined;
  }
  if (info.isDirectory) return undefined;
  return `Cannot use state directory ${resolve(stateDir)}: it is not a directory; pass the ` +
    "OpenClaw state directory";
}

/** Reports an unusable state directory: an input that cannot be read. */
function refuse(io: Io, problem: string): number {
  io.err(problem);
  return EXIT_NO_INPUT;
}

/**
 * Why an operation on `path` was refused and how to get the grant: for the sandbox, the
 * grant of `kinds` it lacks (asked live); for the file's own mode, the OS's word.
 */
function refusalText(
  err: unknown,
  path: string,
  kinds: readonly ("read" | "write")[],
  ctx: DeniedContext,
): string {
  if (isSandboxDenial(err)) {
    const abs = resolve(ctx.cwd, path);
    const kind = kinds.find((k) => liveQuery({ name: k, path: abs }) !== "granted") ?? kinds[0]!;
    return explainDenied(kind, path, ctx, declaredSet()).message;
  }
  return `Cannot ${kinds.join(" or ")} ${path}: ${errorText(err)}; give the user the ` +
    `coordinator runs as ${kinds.join(" and ")} access to it`;
}

function isSandboxDenial(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof Deno.errors.NotCapable) return true;
  }
  return false;
}

/** The gateway scopes the config asks for, or why the config cannot say. */
async function gatewayScopes(
  paths: Paths,
): Promise<{ scope: string; for: string[] }[] | { error: string }> {
  try {
    return scopesAsked((await loadConfig(paths.config)).config);
  } catch (err) {
    return { error: errorText(err) };
  }
}

function formatScopes(scopes: { scope: string; for: string[] }[] | { error: string }): string {
  if ("error" in scopes) return `Gateway scopes (OpenClaw): unknown: ${scopes.error}`;
  return [
    "Gateway scopes (OpenClaw) the coordinator asks for, as the config sets it:",
    ...scopes.map((s) => `  ${s.scope.padEnd(18)} ${s.for.join(", ")}`),
  ].join("\n");
}

/** Runs `classify`: the config's overrides apply; a bad config or argument is a usage error. */
async function classifyCommand(
  io: Io,
  opts: { tool: string; args: string | undefined; paths: Paths; json: boolean },
): Promise<number> {
  let tools = {};
  try {
    tools = (await loadConfig(opts.paths.config)).config.tools;
  } catch (err) {
    io.err(errorText(err));
    return EXIT_CONFIG;
  }
  let r;
  try {
    r = classifyCall(opts.tool, opts.args, tools);
  } catch (err) {
    throw new UsageError(errorText(err));
  }
  io.out(
    opts.json
      ? JSON.stringify(r)
      : `${r.tool}: ${r.class} (${r.why})${
        r.summary ? `; the ledger would show "${r.summary}"` : ""
      }`,
  );
  return EXIT_OK;
}

/** What `replay` was asked to do. */
interface ReplayOptions {
  /** A recording's path, or "-" for standard input. */
  input: string;
  paths: Paths;
  /** The ledger to append to, when --ledger was given. */
  ledger: string | undefined;
  json: boolean;
}

async function replayCommand(io: Io, opts: ReplayOptions): Promise<number> {
  const { input, paths, ledger, json } = opts;
  const ctx: DeniedContext = { cwd: Deno.cwd(), stateDir: paths.stateDir };
  let config;
  try {
    config = (await loadConfig(paths.config)).config;
  } catch (err) {
    if (isPermissionError(err)) {
      io.err(refusalText(err, paths.config, ["read"], ctx));
      return EXIT_NO_PERMISSION;
    }
    io.err(errorText(err));
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }
  const gov = await readGovernance(paths.governanceState);
  if (gov.error) io.err(`${gov.error}; using MO§ES's default governance state`);
  let stream: ReadableStream<Uint8Array>;
  if (input === "-") {
    stream = io.stdin();
  } else {
    try {
      stream = (await Deno.open(input, { read: true })).readable;
    } catch (err) {
      if (isPermissionError(err)) {
        io.err(refusalText(err, input, ["read"], {
          ...ctx,
          fix:
            `pass the recording on standard input instead: moses-coordinator replay - < ${input}`,
        }));
        return EXIT_NO_PERMISSION;
      }
      io.err(`Cannot read recording ${input}: ${errorText(err)}`);
      return EXIT_NO_INPUT;
    }
  }
  const result = await replayLines(readLines(stream), { config, governance: gov.governance });
  let appended: AppendedReplay | undefined;
  if (ledger !== undefined && result.violations.length > 0) {
    try {
      // As run does: a state directory without audits/moses yet gets it, private.
      await ensurePrivateDir(parentDir(ledger));
      appended = await appendReplayed(ledger, result.violations, gov.governance);
    } catch (err) {
      if (isPermissionError(err)) {
        io.err(refusalText(err, ledger, ["write", "read"], {
          ...ctx,
          fix: "use a --ledger under audits/moses",
        }));
        return EXIT_NO_PERMISSION;
      }
      io.err(errorText(err));
      return EXIT_FAILURE;
    }
  }
  if (json) {
    io.out(JSON.stringify(
      {
        lines: result.lines,
        violations: result.violations.map((v) => ({
          line: v.line,
          conversation: v.conversation,
          agent: v.agent,
          role: v.role,
          expected: v.expected,
          protocol: v.protocol,
          detail: v.detail,
        })),
        counters: result.counters,
        ledgerEntries: result.ledgerEntries,
        governanceChanges: result.governanceChanges,
        toolPolicies: result.toolPolicies,
        auditJudged: result.auditJudged,
        auditUnjudged: result.auditUnjudged,
        ...(ledger !== undefined
          ? {
            ledger: {
              path: ledger,
              appended: appended?.hashes.length ?? 0,
              alreadyThere: appended?.alreadyThere ?? 0,
            },
          }
          : {}),
      },
      null,
      2,
    ));
    return EXIT_OK;
  }
  for (const v of result.violations) io.out(`line ${v.line}: ${v.detail}`);
  const c = result.counters;
  const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0) - c.skipped.duplicate;
  io.out(
    `${result.violations.length} violation${result.violations.length === 1 ? "" : "s"} in ` +
      `${c.frames} frames (${c.observations} observations, ` +
      (c.skipped.duplicate > 0 ? `${c.skipped.duplicate} repeated announcements of a turn, ` : "") +
      `${skipped} frames skipped, ` +
      `${c.unknownAgents} from agents outside the sequence` +
      `${c.notEnforced > 0 ? `, ${c.notEnforced} not checked: broadcast mode` : ""})`,
  );
  const carried = [
    ...(result.ledgerEntries > 0 ? [`${result.ledgerEntries} ledger entries`] : []),
    ...(result.governanceChanges > 0 ? [`${result.governanceChanges} governance lines`] : []),
    ...(result.toolPolicies > 0 ? [`${result.toolPolicies} tool policy lines`] : []),
  ];
  if (carried.length > 0) io.out(`The recording carried ${carried.join(" and ")}`);
  if (result.auditUnjudged > 0) {
    io.out(
      `${result.auditUnjudged} runs not judged for their agents' own entries: the recording ` +
        "holds no ledger entries (add the ledger's lines to it to judge them)",
    );
  }
  if (appended !== undefined) {
    io.out(
      `Appended ${appended.hashes.length} lines to ${ledger}` +
        (appended.alreadyThere > 0
          ? ` (${appended.alreadyThere} already in the ledger, not written again)`
          : ""),
    );
  }
  return EXIT_OK;
}

const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

async function verifyCommand(io: Io, path: string, json: boolean): Promise<number> {
  let report: VerifyReport;
  const showProgress = !json && io.errIsTerminal();
  let lastDraw = 0;
  try {
    report = await verifyLedger(path, {
      onProgress: (read, total) => {
        if (!showProgress || total < PROGRESS_MIN_BYTES) return;
        const now = Date.now();
        if (now - lastDraw < 200 && read < total) return;
        lastDraw = now;
        const pct = Math.floor((read / total) * 100);
        const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
        io.errRaw(`\rVerifying [${bar}] ${pct}%`);
      },
    });
  } catch (err) {
    io.err(`Cannot verify ledger ${path}: ${denialText(err)}`);
    return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
  }
  if (lastDraw > 0) io.errRaw("\r\x1b[K");
  if (json) {
    io.out(JSON.stringify(report, null, 2));
    return report.ok ? EXIT_OK : EXIT_FAILURE;
  }
  for (const p of report.problems) io.out(`line ${p.line}: ${p.kind}: ${p.message}`);
  if (report.problemCount > report.problems.length) {
    io.out(`… and ${report.problemCount - report.problems.length} more problems`);
  }
  for (const n of report.notes) io.out(`line ${n.line}: note: ${n.message}`);
  for (const d of report.duplicateIds) io.out(`note: ${duplicateText(d)}`);
  if (report.duplicateIdCount > report.duplicateIds.length) {
    io.out(`… and ${report.duplicateIdCount - report.duplicateIds.length} more repeated ids`);
  }
  if (report.ok) {
    io.out(
      `Ledger intact: ${report.entries} entries in ${path}` +
        (report.head ? `, head ${report.head}` : ""),
    );
    return EXIT_OK;
  }
  io.out(
    `Ledger broken: ${report.problemCount} problem${report.problemCount === 1 ? "" : "s"} ` +
      `in ${report.entries} entries of ${path}`,
  );
  return EXIT_FAILURE;
}

// "violation.id 3f2a9c1e… is on 2 lines: 2 and 4 (...)": the id's first 8 characters name it.
function duplicateText(d: DuplicateId): string {
  const id = d.id.length > 12 ? `${d.id.slice(0, 8)}…` : d.id;
  const more = d.count - d.lines.length;
  const lines = more > 0
    ? `${d.lines.join(", ")} and ${more} more`
    : `${d.lines.slice(0, -1).join(", ")} and ${d.lines.at(-1)}`;
  return `${d.field}.id ${id} is on ${d.count} lines: ${lines} ` +
    "(the same finding was recorded more than once; the chain does not depend on it)";
}

async function statusCommand(
  io: Io,
  paths: Paths,
  opts: { json: boolean; stateDirGiven: boolean },
): Promise<number> {
  const { json } = opts;
  const path = paths.status;
  let lockHeld: boolean;
  try {
    lockHeld = (await daemonLiveness(paths.lock)) === "running";
  } catch (err) {
    io.err(`Cannot tell whether the daemon runs: ${denialText(err)}`);
    return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
  }
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      io.err(`Cannot read status file ${path}: ${denialText(err)}`);
      return isPermissionError(err) ? EXIT_NO_PERMISSION : EXIT_NO_INPUT;
    }
    if (!lockHeld) {
      io.err(
        `No status file at ${path}: the coordinator has not run in this state directory ` +
          (opts.stateDirGiven
            ? "(is --state-dir the OpenClaw state directory?)"
            : "(run status in the OpenClaw state directory, or pass --state-dir)"),
      );
      return EXIT_NO_INPUT;
    }
  }
  let report: StatusReport | undefined;
  try {
    report = text === undefined ? undefined : parseStatus(text, path);
  } catch (err) {
    io.err(errorText(err));
    return EXIT_NO_INPUT;
  }
  const liveness = livenessOf(report, lockHeld);
  if (report === undefined) {
    io.out(json ? JSON.stringify({ daemon: liveness }) : "State:          STARTING");
    return EXIT_STATUS_DISCONNECTED;
  }
  io.out(
    json
      ? JSON.stringify({ ...report, daemon: liveness }, null, 2)
      : formatStatus(report, { liveness }),
  );
  return statusExitCode(report, liveness);
}

/** `status` as a health check: 0 only when the daemon runs and is connected. */
function statusExitCode(report: StatusReport, liveness: Liveness): number {
  if (liveness === "gone") return EXIT_STATUS_GONE;
  if (liveness === "stopped") return EXIT_STATUS_STOPPED;
  if (report.state === "CONNECTED") return EXIT_OK;
  return report.state === "DEGRADED" ? EXIT_STATUS_DEGRADED : EXIT_STATUS_DISCONNECTED;
}

/**
 * An error's text; for a sandbox denial, why (the grants bind to the working directory)
 * instead of Deno's advice to add a flag, which a compiled binary cannot take.
 */
function denialText(err: unknown): string {
  if (!(err instanceof Deno.errors.NotCapable)) return errorText(err);
  return `the permission set does not grant it: its paths are relative to the working ` +
    `directory (${Deno.cwd()}); run this command in the OpenClaw state directory ` +
    "(cd ~/.openclaw) and leave --state-dir out";
}
