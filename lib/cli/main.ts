/**
 * The command line's dispatcher: `run`, `release`, `replay`, `verify`, `status`, `log`,
 * `report`, `permissions`, `classify`, `--help`, `--version`. It reads the arguments and
 * loads the one command's module (`import()` of a literal path, so `deno compile` takes it
 * in) only when that command runs: its own imports stay light (no service, no gateway, no
 * `node:` module, no npm package; tests/unit/cli/startup_test.ts checks), because every
 * module loaded here is start-up time for `--help`, `--version`, `status` and `verify`.
 * @module
 */
import {
  errorText,
  EXIT_NO_INPUT,
  EXIT_OK,
  EXIT_USAGE,
  resolve,
  resolvePaths,
} from "../util/mod.ts";
import { type ArgOption, parseArgs } from "./args.ts";
import { versionText } from "../version.ts";
import { denialText } from "./denial.ts";
import { type Io, PROCESS_IO } from "./io.ts";
import { TIME_FORMS } from "./time_spec.ts";
import { UsageError } from "./usage.ts";

export { type Io, PROCESS_IO } from "./io.ts";

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

function parserOptions(spec: CommandSpec): Record<string, ArgOption> {
  const options: Record<string, ArgOption> = { help: { type: "boolean", short: "h" } };
  for (const [flag, o] of Object.entries(spec.options)) {
    options[flag] = { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}) };
  }
  return options;
}

function parse(command: string, args: string[]) {
  try {
    return parseArgs(args, parserOptions(COMMANDS[command]!));
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
    // Each command's module is imported here, when it runs, by a literal path (see @module).
    switch (command) {
      case "run": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const { runCommand } = await import("./daemon_commands.ts");
        return await runCommand(io, {
          paths,
          gateway: values.gateway as string | undefined,
          protocol: values.protocol as string | undefined,
          logFormat: values["log-format"] as string | undefined,
          stateDirProblem: stateDirUnusable,
        });
      }
      case "release": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        const { releaseCommand } = await import("./daemon_commands.ts");
        return await releaseCommand(io, { paths, gateway: values.gateway as string | undefined });
      }
      case "replay": {
        if (positionals.length !== 1) {
          throw new UsageError("replay takes one FILE (or - for standard input)");
        }
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        const { replayCommand } = await import("./replay_command.ts");
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
        const { verifyCommand } = await import("./verify_command.ts");
        return await verifyCommand(io, paths.ledger, values.json === true);
      }
      case "status": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const problem = await stateDirUnusable();
        if (problem !== undefined) return refuse(io, problem);
        const { statusCommand } = await import("./status_command.ts");
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
        const { classifyCommand } = await import("./classify_command.ts");
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
        const { logCommand, reportCommand } = await import("./ledger_commands.ts");
        const run = command === "log" ? logCommand : reportCommand;
        return await run(
          { out: io.out, err: io.err, colour: () => io.colour?.() ?? false },
          values,
          { path: paths.ledger, denial: denialText, now: Date.now() },
        );
      }
      case "permissions": {
        if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
        const { permissionsCommand } = await import("./permissions_command.ts");
        return await permissionsCommand(io, { paths, json: values.json === true });
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
