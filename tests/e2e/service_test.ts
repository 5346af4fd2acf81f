/**
 * The service-manager files and their scripts: launchd/install.sh and launchd/uninstall.sh run
 * with bash against stand-in `launchctl` and `systemctl` executables (first on PATH) that log
 * every call and keep a little state, with HOME and the state directory in temporary directories.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type TempDir, tempDir } from "../support/helpers.ts";

const INSTALL = fileURLToPath(new URL("../../launchd/install.sh", import.meta.url));
const UNINSTALL = fileURLToPath(new URL("../../launchd/uninstall.sh", import.meta.url));
const LAUNCHD_DIR = dirname(INSTALL);
const LABEL = "com.elloCello.moses-coordinator";
const UNIT = "moses-coordinator.service";
const UID = String(Deno.uid());
const MARKER = "Written by moses-coordinator install.sh";

/**
 * Stand-in for launchctl: logs its arguments (one call a line) and keeps the loaded job as a copy
 * of the plist it was bootstrapped from, so `print` answers as launchd would. With
 * STUB_FAIL_PLIST_WITH set, bootstrapping a plist that holds that text fails.
 */
const LAUNCHCTL = String.raw`#!/usr/bin/env bash
printf '%s\n' "$*" >>"$STUB_LOG"
job="$STUB_STATE/launchd-job"
service="gui/$(id -u)/com.elloCello.moses-coordinator"
case "$1" in
  print)
    [[ "$2" == "$service" && -e "$job" ]] || { echo "Could not find service \"$2\"" >&2; exit 113; }
    echo "state = running" ;;
  bootstrap)
    [[ "$2" == "gui/$(id -u)" && "$3" == /* && -f "$3" ]] || { echo "Bootstrap failed: 5: Input/output error" >&2; exit 5; }
    [[ ! -e "$job" ]] || { echo "Bootstrap failed: 5: Input/output error (already loaded)" >&2; exit 5; }
    if [[ -n "$STUB_FAIL_PLIST_WITH" ]] && grep -qF "$STUB_FAIL_PLIST_WITH" "$3"; then
      echo "Bootstrap failed: 5: Input/output error" >&2; exit 5
    fi
    cp "$3" "$job" ;;
  bootout)
    [[ "$2" == "$service" && -e "$job" ]] || { echo "Boot-out failed: 3: No such process" >&2; exit 3; }
    rm "$job" ;;
  *) echo "launchctl stand-in: unexpected call: $*" >&2; exit 64 ;;
esac
`;

/**
 * Stand-in for `systemctl --user`: logs its arguments and keeps the unit's state (the unit as last
 * loaded by daemon-reload, enabled, active). Stricter than systemd in one way: starting a unit whose
 * file changed since the last daemon-reload fails (systemd would warn and run the old one).
 *
 * With STUB_NO_BUS set it is systemctl without a user manager to talk to (no login session, as
 * under su or in a container): what needs the manager fails as systemd 252 does, while what only
 * touches unit files (enable and disable without --now, is-enabled) still works, as it does there.
 * With STUB_FAIL_UNIT_WITH set, starting a loaded unit that holds that text fails.
 */
const SYSTEMCTL = String.raw`#!/usr/bin/env bash
printf '%s\n' "$*" >>"$STUB_LOG"
[[ "$1" == --user ]] || { echo "systemctl stand-in: only --user calls are expected" >&2; exit 64; }
shift
cmd="$1"
shift
now=0
unit=""
for arg in "$@"; do
  case "$arg" in
    --now) now=1 ;;
    --quiet) ;;
    -*) echo "systemctl stand-in: unexpected option $arg" >&2; exit 64 ;;
    *) unit="$arg" ;;
  esac
done
if [[ -n "$STUB_NO_BUS" ]]; then
  case "$cmd" in
    enable | disable) [[ "$now" == 1 ]] && needs_bus=1 || needs_bus=0 ;;
    is-enabled) needs_bus=0 ;;
    *) needs_bus=1 ;;
  esac
  [[ "$needs_bus" == 0 ]] || { echo "Failed to connect to bus: No medium found" >&2; exit 1; }
fi
config="$XDG_CONFIG_HOME"
[[ -n "$config" ]] || config="$HOME/.config"
file="$config/systemd/user/moses-coordinator.service"
loaded="$STUB_STATE/systemd-loaded"
start() {
  [[ -e "$loaded" ]] || { echo "Failed to start $unit: Unit $unit not found." >&2; exit 5; }
  cmp -s "$loaded" "$file" || { echo "Unit file changed on disk: run daemon-reload" >&2; exit 1; }
  if [[ -n "$STUB_FAIL_UNIT_WITH" ]] && grep -qF "$STUB_FAIL_UNIT_WITH" "$loaded"; then
    rm -f "$STUB_STATE/systemd-active"
    echo "Job for $unit failed because the control process exited with error code." >&2
    exit 1
  fi
  touch "$STUB_STATE/systemd-active"
}
case "$cmd" in
  show-environment) echo "HOME=$HOME" ;;
  daemon-reload) if [[ -e "$file" ]]; then cp "$file" "$loaded"; else rm -f "$loaded"; fi ;;
  is-active) [[ -e "$STUB_STATE/systemd-active" ]] || { echo inactive; exit 3; }; echo active ;;
  is-enabled) [[ -e "$STUB_STATE/systemd-enabled" ]] || { echo disabled; exit 1; }; echo enabled ;;
  enable)
    [[ -e "$file" ]] || { echo "Failed to enable unit: Unit file $unit does not exist." >&2; exit 1; }
    touch "$STUB_STATE/systemd-enabled"
    [[ "$now" == 0 ]] || start ;;
  disable)
    rm -f "$STUB_STATE/systemd-enabled"
    [[ "$now" == 0 ]] || rm -f "$STUB_STATE/systemd-active" ;;
  start | restart) start ;;
  stop) rm -f "$STUB_STATE/systemd-active" ;;
  *) echo "systemctl stand-in: unexpected call: $cmd" >&2; exit 64 ;;
esac
`;

/** The output of a finished script. */
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary HOME, state directory, binary and stand-ins; removed on dispose. */
class Fixture {
  readonly root: string;
  readonly home: string;
  readonly state: string;
  readonly binary: string;
  readonly stubs: string;
  readonly stubState: string;
  readonly log: string;
  readonly env: Record<string, string> = {};
  readonly #dir: TempDir;

  constructor(dir: TempDir, root: string) {
    this.#dir = dir;
    this.root = root;
    this.home = join(root, "home");
    this.state = join(root, "home", ".openclaw");
    this.binary = join(root, "bin", "moses-coordinator");
    this.stubs = join(root, "stubs");
    this.stubState = join(root, "stub-state");
    this.log = join(root, "calls.log");
  }

  static async create(): Promise<Fixture> {
    await using owned = new AsyncDisposableStack();
    const tmp = owned.use(await tempDir());
    const fx = new Fixture(tmp, await Deno.realPath(tmp.path));
    for (const dir of [fx.home, fx.state, dirname(fx.binary), fx.stubs, fx.stubState]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    await writeExecutable(fx.binary, "#!/bin/sh\nexit 0\n");
    await writeExecutable(join(fx.stubs, "launchctl"), LAUNCHCTL);
    await writeExecutable(join(fx.stubs, "systemctl"), SYSTEMCTL);
    await Deno.writeTextFile(fx.log, "");
    owned.move(); // the fixture owns the directory now; a failure above removed it on the way out
    return fx;
  }

  get plist(): string {
    return join(this.home, "Library", "LaunchAgents", `${LABEL}.plist`);
  }

  get logDir(): string {
    return join(this.home, "Library", "Logs", "moses-coordinator");
  }

  get unitFile(): string {
    return join(this.env.XDG_CONFIG_HOME ?? join(this.home, ".config"), "systemd", "user", UNIT);
  }

  /** Runs a script with bash in `root`, with only the environment a test gives it. */
  async run(script: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
    const out = await new Deno.Command("bash", {
      args: [script, ...args],
      cwd: this.root,
      clearEnv: true,
      env: {
        PATH: `${this.stubs}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
        HOME: this.home,
        STUB_LOG: this.log,
        STUB_STATE: this.stubState,
        ...this.env,
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  install(args: string[], env?: Record<string, string>): Promise<Ran> {
    return this.run(INSTALL, args, env);
  }

  uninstall(args: string[], env?: Record<string, string>): Promise<Ran> {
    return this.run(UNINSTALL, args, env);
  }

  /** The stand-ins' calls since the last time they were taken, one string per call. */
  async calls(): Promise<string[]> {
    const text = await Deno.readTextFile(this.log);
    await Deno.writeTextFile(this.log, "");
    return text.split("\n").filter((l) => l !== "");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#dir[Symbol.asyncDispose]();
  }
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Asserts that a script succeeded, showing its output when it did not. */
function assertOk(r: Ran, what: string): void {
  assertEquals(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
}

/** A plist as Python's plistlib reads it. */
async function readPlist(path: string): Promise<Record<string, unknown>> {
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      'import plistlib,sys,json; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))',
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, `plistlib cannot read ${path}: ${dec.decode(out.stderr)}`);
  return JSON.parse(dec.decode(out.stdout));
}

/** A unit file's directives, as "Section.Key" → values (comments and blank lines left out). */
function unitDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    assert(eq > 0, `Not a directive: ${line}`);
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const launchd = (fx: Fixture, ...more: string[]) => [
  "--manager",
  "launchd",
  "--binary",
  fx.binary,
  "--state-dir",
  fx.state,
  ...more,
];

const systemd = (fx: Fixture, ...more: string[]) => [
  "--manager",
  "systemd",
  "--binary",
  fx.binary,
  "--state-dir",
  fx.state,
  ...more,
];

Deno.test("launchd: install writes a plist that plistlib reads, with the label, absolute paths, restart policy and log paths", async () => {
  await using fx = await Fixture.create();
  // Relative paths on the command line, resolved against the directory install.sh runs in.
  const r = await fx.install([
    "--manager",
    "launchd",
    "--binary",
    "bin/moses-coordinator",
    "--state-dir",
    "home/.openclaw",
  ]);
  assertOk(r, "install");
  const plist = await readPlist(fx.plist);
  const logs = fx.logDir;
  assertEquals(plist, {
    Label: LABEL,
    ProgramArguments: [fx.binary, "run"],
    WorkingDirectory: fx.state,
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 10,
    ExitTimeOut: 20,
    ProcessType: "Background",
    StandardOutPath: join(logs, "moses-coordinator.log"),
    StandardErrorPath: join(logs, "moses-coordinator.err.log"),
  });
  assertStringIncludes(await Deno.readTextFile(fx.plist), `<!-- ${MARKER}`);
  // The ledger directory (the binary's write grant) and the log directory exist, private.
  assertEquals((await Deno.stat(join(fx.state, "audits", "moses"))).mode! & 0o777, 0o700);
  assertEquals((await Deno.stat(logs)).mode! & 0o777, 0o700);
  assertStringIncludes(r.stdout, `Writing ${fx.plist}`);
});

Deno.test("launchd: install bootstraps the job; a second install changes nothing; a new binary path reloads it", async () => {
  await using fx = await Fixture.create();
  const service = `gui/${UID}/${LABEL}`;

  const first = await fx.install(launchd(fx));
  assertOk(first, "install");
  assertEquals(await fx.calls(), [`print ${service}`, `bootstrap gui/${UID} ${fx.plist}`]);
  assertStringIncludes(first.stdout, `Running: launchctl bootstrap gui/${UID} ${fx.plist}`);

  const written = await Deno.stat(fx.plist);
  const second = await fx.install(launchd(fx));
  assertOk(second, "second install");
  assertEquals(await fx.calls(), [`print ${service}`]);
  assertStringIncludes(second.stdout, "nothing to do");
  assertEquals((await Deno.stat(fx.plist)).mtime, written.mtime);

  const moved = join(fx.root, "bin", "moses-coordinator-2");
  await Deno.copyFile(fx.binary, moved);
  await Deno.chmod(moved, 0o755);
  const third = await fx.install([
    "--manager",
    "launchd",
    "--binary",
    moved,
    "--state-dir",
    fx.state,
  ]);
  assertOk(third, "install with a new binary");
  assertEquals(await fx.calls(), [
    `print ${service}`,
    `bootout ${service}`,
    `bootstrap gui/${UID} ${fx.plist}`,
  ]);
  assertEquals((await readPlist(fx.plist)).ProgramArguments, [moved, "run"]);
  // The stand-in's loaded job is the plist it was last bootstrapped from.
  assertEquals(
    await Deno.readTextFile(join(fx.stubState, "launchd-job")),
    await Deno.readTextFile(fx.plist),
  );
});

Deno.test("launchd: install and uninstall refuse a plist they did not write, and leave it and launchctl alone", async () => {
  await using fx = await Fixture.create();
  await Deno.mkdir(dirname(fx.plist), { recursive: true });
  const foreign = `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>` +
    `<key>Label</key><string>${LABEL}</string></dict></plist>\n`;
  await Deno.writeTextFile(fx.plist, foreign);

  const inst = await fx.install(launchd(fx));
  assertEquals(inst.code, 1, inst.stderr);
  assertStringIncludes(inst.stderr, `Refusing to overwrite ${fx.plist}: it was not written by`);
  assertEquals(await Deno.readTextFile(fx.plist), foreign);
  assertEquals(await fx.calls(), []);

  const uninst = await fx.uninstall(["--manager", "launchd"]);
  assertEquals(uninst.code, 1, uninst.stderr);
  assertStringIncludes(uninst.stderr, `Refusing to remove ${fx.plist}: it was not written by`);
  assertEquals(await Deno.readTextFile(fx.plist), foreign);
  assertEquals(await fx.calls(), []);
});

Deno.test("launchd: uninstall boots the job out and removes the plist, keeping the ledger and logs; a second has nothing to do", async () => {
  await using fx = await Fixture.create();
  assertOk(await fx.install(launchd(fx)), "install");
  await fx.calls();
  const ledger = join(fx.state, "audits", "moses", "audit_ledger.jsonl");
  await Deno.writeTextFile(ledger, "{}\n");

  const r = await fx.uninstall(["--manager", "launchd"]);
  assertOk(r, "uninstall");
  assertEquals(await fx.calls(), [`print gui/${UID}/${LABEL}`, `bootout gui/${UID}/${LABEL}`]);
  assert(!(await exists(fx.plist)), "the plist is still there");
  assert(await exists(ledger), "the ledger was removed");
  assert(await exists(fx.logDir), "the log directory was removed");
  assertStringIncludes(r.stdout, `Running: launchctl bootout gui/${UID}/${LABEL}`);
  assertStringIncludes(r.stdout, `Removing ${fx.plist}`);
  assertStringIncludes(r.stdout, join(fx.state, "audits", "moses"));
  assertStringIncludes(r.stdout, fx.logDir);

  const again = await fx.uninstall(["--manager", "launchd"]);
  assertOk(again, "second uninstall");
  assertStringIncludes(again.stdout, "not installed; nothing to do");
  assertEquals(await fx.calls(), [`print gui/${UID}/${LABEL}`]);
});

Deno.test("--dry-run writes nothing, runs no launchctl or systemctl, and prints the commands it would run", async () => {
  await using fx = await Fixture.create();

  const l = await fx.install(launchd(fx, "--dry-run"));
  assertOk(l, "launchd dry run");
  assertStringIncludes(l.stdout, `Would write ${fx.plist}`);
  assertStringIncludes(l.stdout, `<string>${fx.state}</string>`);
  assertStringIncludes(l.stdout, `Would run: launchctl bootstrap gui/${UID} ${fx.plist}`);

  const s = await fx.install(systemd(fx, "--dry-run"));
  assertOk(s, "systemd dry run");
  assertStringIncludes(s.stdout, `Would write ${fx.unitFile}`);
  assertStringIncludes(s.stdout, `WorkingDirectory=${fx.state}`);
  assertStringIncludes(s.stdout, "Would run: systemctl --user daemon-reload");
  assertStringIncludes(s.stdout, `Would run: systemctl --user enable --now ${UNIT}`);

  assertEquals(await fx.calls(), []);
  assert(!(await exists(join(fx.home, "Library"))), "the dry run created ~/Library");
  assert(!(await exists(join(fx.home, ".config"))), "the dry run created ~/.config");
  assert(!(await exists(join(fx.state, "audits"))), "the dry run created audits/");

  // Uninstalling in a dry run leaves what is installed in place.
  assertOk(await fx.install(launchd(fx)), "install");
  assertOk(await fx.install(systemd(fx)), "install");
  await fx.calls();
  const lu = await fx.uninstall(["--manager", "launchd", "--dry-run"]);
  assertOk(lu, "launchd uninstall dry run");
  assertStringIncludes(lu.stdout, `launchctl bootout gui/${UID}/${LABEL}`);
  assertStringIncludes(lu.stdout, `Would remove ${fx.plist}`);
  const su = await fx.uninstall(["--manager", "systemd", "--dry-run"]);
  assertOk(su, "systemd uninstall dry run");
  assertStringIncludes(su.stdout, `Would run: systemctl --user disable --now ${UNIT}`);
  assertStringIncludes(su.stdout, `Would remove ${fx.unitFile}`);
  assertEquals(await fx.calls(), []);
  assert(await exists(fx.plist), "the launchd dry run removed the plist");
  assert(await exists(fx.unitFile), "the systemd dry run removed the unit");
});

Deno.test("systemd: install writes the hardened user unit, reloads systemd and enables it now", async () => {
  await using fx = await Fixture.create();
  const r = await fx.install(systemd(fx));
  assertOk(r, "install");
  const text = await Deno.readTextFile(fx.unitFile);
  assert(text.startsWith(`# ${MARKER}`), "the marker is not the first line");
  const d = unitDirectives(text);
  const want: Record<string, string> = {
    "Service.ExecStart": `${fx.binary} run`,
    "Service.WorkingDirectory": fx.state,
    "Service.Restart": "on-failure",
    "Service.RestartSec": "10",
    "Service.TimeoutStopSec": "20",
    "Service.KillSignal": "SIGTERM",
    "Service.NoNewPrivileges": "yes",
    "Service.ProtectSystem": "strict",
    "Service.ProtectHome": "read-only",
    "Service.ReadWritePaths": join(fx.state, "audits", "moses"),
    "Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "Service.UMask": "0077",
    "Install.WantedBy": "default.target",
  };
  for (const [key, value] of Object.entries(want)) assertEquals(d.get(key), [value], key);
  assert(!d.has("Service.MemoryDenyWriteExecute"), "MemoryDenyWriteExecute breaks V8");
  assert(![...d.keys()].some((k) => k.includes("@")), "a placeholder is left");
  assert(!text.includes("@BINARY@") && !text.includes("@STATE_DIR@"), "a placeholder is left");
  // ReadWritePaths must exist for systemd to start the unit.
  assertEquals((await Deno.stat(join(fx.state, "audits", "moses"))).mode! & 0o777, 0o700);

  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user is-active --quiet ${UNIT}`,
    `--user is-enabled --quiet ${UNIT}`,
    "--user daemon-reload",
    `--user enable --now ${UNIT}`,
  ]);
  assert(await exists(join(fx.stubState, "systemd-active")), "the unit is not active");
  assertStringIncludes(r.stdout, "Running: systemctl --user daemon-reload");
  assertStringIncludes(r.stdout, `Running: systemctl --user enable --now ${UNIT}`);
});

Deno.test("systemd: a second install changes nothing; a changed unit is reloaded and restarted", async () => {
  await using fx = await Fixture.create();
  // XDG_CONFIG_HOME, when set, is where user units live.
  fx.env.XDG_CONFIG_HOME = join(fx.root, "xdg");
  assertOk(await fx.install(systemd(fx)), "install");
  assert(await exists(join(fx.root, "xdg", "systemd", "user", UNIT)), "XDG_CONFIG_HOME ignored");
  await fx.calls();

  const again = await fx.install(systemd(fx));
  assertOk(again, "second install");
  assertStringIncludes(again.stdout, "nothing to do");
  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user is-active --quiet ${UNIT}`,
    `--user is-enabled --quiet ${UNIT}`,
  ]);

  const moved = join(fx.root, "bin", "moses-coordinator-2");
  await Deno.copyFile(fx.binary, moved);
  await Deno.chmod(moved, 0o755);
  const changed = await fx.install([
    "--manager",
    "systemd",
    "--binary",
    moved,
    "--state-dir",
    fx.state,
  ]);
  assertOk(changed, "install with a new binary");
  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user is-active --quiet ${UNIT}`,
    `--user is-enabled --quiet ${UNIT}`,
    "--user daemon-reload",
    `--user restart ${UNIT}`,
  ]);
  assertEquals(unitDirectives(await Deno.readTextFile(fx.unitFile)).get("Service.ExecStart"), [
    `${moved} run`,
  ]);

  // Stopped for good (it exited 0): installing again starts it.
  await Deno.remove(join(fx.stubState, "systemd-active"));
  assertOk(
    await fx.install(["--manager", "systemd", "--binary", moved, "--state-dir", fx.state]),
    "",
  );
  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user is-active --quiet ${UNIT}`,
    `--user is-enabled --quiet ${UNIT}`,
    `--user enable --now ${UNIT}`,
  ]);
});

Deno.test("systemd: uninstall disables and stops the unit, removes it and reloads systemd; a second has nothing to do", async () => {
  await using fx = await Fixture.create();
  assertOk(await fx.install(systemd(fx)), "install");
  await fx.calls();

  const r = await fx.uninstall(["--manager", "systemd"]);
  assertOk(r, "uninstall");
  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user disable --now ${UNIT}`,
    "--user daemon-reload",
  ]);
  assert(!(await exists(fx.unitFile)), "the unit file is still there");
  assert(!(await exists(join(fx.stubState, "systemd-active"))), "the unit is still active");
  assert(!(await exists(join(fx.stubState, "systemd-loaded"))), "daemon-reload ran too early");
  assert(await exists(join(fx.state, "audits", "moses")), "the ledger directory was removed");
  assertStringIncludes(r.stdout, join(fx.state, "audits", "moses"));
  assertStringIncludes(r.stdout, "journalctl --user -u moses-coordinator");

  const again = await fx.uninstall(["--manager", "systemd"]);
  assertOk(again, "second uninstall");
  assertStringIncludes(again.stdout, "not installed");
  assertStringIncludes(again.stdout, "nothing to do");
  assertEquals(await fx.calls(), []);
});

Deno.test("systemd: install and uninstall refuse a unit file they did not write", async () => {
  await using fx = await Fixture.create();
  await Deno.mkdir(dirname(fx.unitFile), { recursive: true });
  const foreign = "[Service]\nExecStart=/usr/bin/true\n";
  await Deno.writeTextFile(fx.unitFile, foreign);

  const inst = await fx.install(systemd(fx));
  assertEquals(inst.code, 1, inst.stderr);
  assertStringIncludes(inst.stderr, `Refusing to overwrite ${fx.unitFile}`);
  const uninst = await fx.uninstall(["--manager", "systemd"]);
  assertEquals(uninst.code, 1, uninst.stderr);
  assertStringIncludes(uninst.stderr, `Refusing to remove ${fx.unitFile}`);
  assertEquals(await Deno.readTextFile(fx.unitFile), foreign);
  assertEquals(await fx.calls(), []);
});

Deno.test("launchd: a state directory with characters special to XML reads back exactly from the plist", async () => {
  await using fx = await Fixture.create();
  const odd = join(fx.root, `R&D <state> "x" 'y' ]]>`);
  await Deno.mkdir(odd);
  const r = await fx.install(["--manager", "launchd", "--binary", fx.binary, "--state-dir", odd]);
  assertOk(r, "install");
  const plist = await readPlist(fx.plist);
  assertEquals(plist.WorkingDirectory, odd);
  assert(await exists(join(odd, "audits", "moses")), "audits/moses not made in the state dir");
  assertStringIncludes(await Deno.readTextFile(fx.plist), "R&amp;D &lt;state&gt;");

  // uninstall reads the state directory back from the plist to name the ledger it keeps.
  const u = await fx.uninstall(["--manager", "launchd"]);
  assertOk(u, "uninstall");
  assertStringIncludes(u.stdout, join(odd, "audits", "moses"));
});

Deno.test("bad arguments exit 2 with a clear message and change nothing", async () => {
  await using fx = await Fixture.create();
  const notExecutable = join(fx.root, "bin", "plain-file");
  await Deno.writeTextFile(notExecutable, "");
  const spaced = join(fx.root, "with space");
  await Deno.mkdir(spaced);
  const cases: [string[], string][] = [
    [["--manager", "launchd", "--state-dir", fx.state], "No binary given: pass --binary PATH"],
    [
      ["--manager", "launchd", "--binary", join(fx.root, "nope"), "--state-dir", fx.state],
      `Binary not found: ${join(fx.root, "nope")}`,
    ],
    [
      ["--manager", "launchd", "--binary", notExecutable, "--state-dir", fx.state],
      `Binary is not an executable file: ${notExecutable}`,
    ],
    [
      ["--manager", "launchd", "--binary", fx.binary, "--state-dir", join(fx.root, "gone")],
      `State directory not found: ${join(fx.root, "gone")}`,
    ],
    [
      ["--manager", "systemd", "--binary", fx.binary, "--state-dir", spaced],
      `Cannot use this path in a systemd unit: ${spaced}`,
    ],
    [["--manager", "upstart", "--binary", fx.binary], "Unknown service manager: upstart"],
    [["--bogus"], "Unknown argument: --bogus"],
    [["--binary"], "Option --binary needs a value"],
  ];
  for (const [args, message] of cases) {
    const r = await fx.install(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
  const u = await fx.uninstall(["--manager", "launchd", "--bogus"]);
  assertEquals(u.code, 2);
  assertStringIncludes(u.stderr, "Unknown argument: --bogus");
  assertEquals(await fx.calls(), []);
  assert(!(await exists(join(fx.home, "Library"))), "a failed install wrote files");
  assert(!(await exists(join(fx.state, "audits"))), "a failed install made directories");
});

Deno.test("the binary next to the script and OPENCLAW_STATE_DIR are the defaults", async () => {
  await using fx = await Fixture.create();
  // A release directory: the scripts and templates with the binary beside them.
  const release = join(fx.root, "release");
  await Deno.mkdir(release);
  for (const name of ["install.sh", "common.sh", `${LABEL}.plist`, UNIT]) {
    await Deno.copyFile(join(LAUNCHD_DIR, name), join(release, name));
  }
  await Deno.copyFile(fx.binary, join(release, "moses-coordinator"));
  await Deno.chmod(join(release, "moses-coordinator"), 0o755);
  const state = join(fx.root, "elsewhere");
  await Deno.mkdir(state);

  const r = await fx.run(join(release, "install.sh"), ["--manager", "launchd"], {
    OPENCLAW_STATE_DIR: state,
  });
  assertOk(r, "install");
  const plist = await readPlist(fx.plist);
  assertEquals(plist.ProgramArguments, [join(release, "moses-coordinator"), "run"]);
  assertEquals(plist.WorkingDirectory, state);
});

Deno.test("without --manager, Darwin picks launchd and Linux picks systemd", async () => {
  await using fx = await Fixture.create();
  await writeExecutable(join(fx.stubs, "uname"), '#!/bin/sh\necho "$STUB_UNAME"\n');
  const args = ["--binary", fx.binary, "--state-dir", fx.state, "--dry-run"];

  const mac = await fx.install(args, { STUB_UNAME: "Darwin" });
  assertOk(mac, "install on Darwin");
  assertStringIncludes(mac.stdout, `Would write ${fx.plist}`);
  const linux = await fx.install(args, { STUB_UNAME: "Linux" });
  assertOk(linux, "install on Linux");
  assertStringIncludes(linux.stdout, `Would write ${fx.unitFile}`);
  const other = await fx.install(args, { STUB_UNAME: "FreeBSD" });
  assertEquals(other.code, 2);
  assertStringIncludes(other.stderr, "pass --manager launchd or --manager systemd");
});

Deno.test("systemd: without a reachable user manager, install checks first, writes nothing and says what to do", async () => {
  await using fx = await Fixture.create();
  const r = await fx.install(systemd(fx), { STUB_NO_BUS: "1" });
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, "Cannot reach the systemd user manager: ");
  assertStringIncludes(r.stderr, "Failed to connect to bus: No medium found");
  assertStringIncludes(r.stderr, "Nothing was written");
  assertStringIncludes(r.stderr, "loginctl enable-linger");
  assertEquals(await fx.calls(), ["--user show-environment"]);
  assert(!(await exists(join(fx.home, ".config"))), "the failed install wrote ~/.config");
  assert(!(await exists(join(fx.state, "audits"))), "the failed install made audits/");
});

Deno.test("systemd: without a reachable user manager, uninstall still removes its unit file and disables it, and says systemd was not told", async () => {
  await using fx = await Fixture.create();
  assertOk(await fx.install(systemd(fx)), "install");
  await fx.calls();

  const r = await fx.uninstall(["--manager", "systemd"], { STUB_NO_BUS: "1" });
  assertEquals(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert(!(await exists(fx.unitFile)), "the unit file is still there");
  // `disable` without --now only edits unit files, so it works without the manager.
  assert(!(await exists(join(fx.stubState, "systemd-enabled"))), "the unit is still enabled");
  assertEquals(await fx.calls(), ["--user show-environment", `--user disable ${UNIT}`]);
  assertStringIncludes(r.stdout, `Removing ${fx.unitFile}`);
  assertStringIncludes(r.stderr, "the systemd user manager could not be told");
  assertStringIncludes(r.stderr, "Failed to connect to bus: No medium found");
  assertStringIncludes(r.stderr, `systemctl --user stop ${UNIT}`);
  assertStringIncludes(r.stderr, "systemctl --user daemon-reload");

  // What is left to do is systemd's: the file is gone, so a second run has nothing to do.
  const again = await fx.uninstall(["--manager", "systemd"], { STUB_NO_BUS: "1" });
  assertOk(again, "second uninstall");
  assertStringIncludes(again.stdout, "nothing to do");
});

Deno.test("systemd: an install that fails after writing the unit removes what it wrote", async () => {
  await using fx = await Fixture.create();
  // The unit is written and loaded, then fails to start.
  const r = await fx.install(systemd(fx), { STUB_FAIL_UNIT_WITH: fx.binary });
  assertEquals(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assertStringIncludes(r.stderr, `Command failed: systemctl --user enable --now ${UNIT}`);
  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user is-active --quiet ${UNIT}`,
    `--user is-enabled --quiet ${UNIT}`,
    "--user daemon-reload",
    `--user enable --now ${UNIT}`,
    `--user disable ${UNIT}`,
    "--user daemon-reload",
  ]);
  assert(!(await exists(fx.unitFile)), "the unit file is left behind");
  assert(!(await exists(join(fx.home, ".config"))), "the directories it made are left behind");
  assert(!(await exists(join(fx.state, "audits"))), "audits/ is left behind");
  for (const state of ["systemd-enabled", "systemd-loaded", "systemd-active"]) {
    assert(!(await exists(join(fx.stubState, state))), `${state}: systemd still has the unit`);
  }
  assertStringIncludes(r.stdout, `Undoing: removing ${fx.unitFile}`);
  assertStringIncludes(r.stderr, "Nothing is installed");
});

Deno.test("systemd: an install that fails to start a changed unit puts the previous unit back and starts it again", async () => {
  await using fx = await Fixture.create();
  assertOk(await fx.install(systemd(fx)), "install");
  const before = await Deno.readTextFile(fx.unitFile);
  await fx.calls();

  const moved = join(fx.root, "bin", "moses-coordinator-2");
  await Deno.copyFile(fx.binary, moved);
  await Deno.chmod(moved, 0o755);
  const r = await fx.install(
    ["--manager", "systemd", "--binary", moved, "--state-dir", fx.state],
    { STUB_FAIL_UNIT_WITH: moved },
  );
  assertEquals(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assertEquals(await fx.calls(), [
    "--user show-environment",
    `--user is-active --quiet ${UNIT}`,
    `--user is-enabled --quiet ${UNIT}`,
    "--user daemon-reload",
    `--user restart ${UNIT}`,
    "--user daemon-reload",
    `--user start ${UNIT}`,
  ]);
  assertEquals(await Deno.readTextFile(fx.unitFile), before);
  assertEquals(await Deno.readTextFile(join(fx.stubState, "systemd-loaded")), before);
  assert(await exists(join(fx.stubState, "systemd-active")), "the previous unit is not running");
  assert(await exists(join(fx.stubState, "systemd-enabled")), "the previous unit was disabled");
  assertStringIncludes(r.stdout, `Undoing: restoring the previous ${fx.unitFile}`);
  assertStringIncludes(r.stderr, "The previous service is back");
});

Deno.test("launchd: an install whose bootstrap fails removes the plist and the directories it made", async () => {
  await using fx = await Fixture.create();
  const r = await fx.install(launchd(fx), { STUB_FAIL_PLIST_WITH: fx.binary });
  assertEquals(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assertStringIncludes(r.stderr, "Cannot load");
  assert(!(await exists(fx.plist)), "the plist is left behind");
  assert(!(await exists(join(fx.home, "Library"))), "~/Library directories are left behind");
  assert(!(await exists(join(fx.state, "audits"))), "audits/ is left behind");
  assertStringIncludes(r.stderr, "Nothing is installed");
});

Deno.test("--dry-run previews an install with a binary that is not there yet, and writes nothing", async () => {
  await using fx = await Fixture.create();
  const later = join(fx.root, "later", "moses-coordinator");
  for (const manager of ["systemd", "launchd"]) {
    // A relative path is made absolute against the directory the script runs in.
    const r = await fx.install([
      "--manager",
      manager,
      "--binary",
      "later/moses-coordinator",
      "--state-dir",
      fx.state,
      "--dry-run",
    ]);
    assertOk(r, `${manager} dry run`);
    assertStringIncludes(r.stdout, `${later} does not exist yet`);
    assertStringIncludes(
      r.stdout,
      manager === "systemd" ? `ExecStart=${later} run` : `<string>${later}</string>`,
    );
  }
  assertEquals(await fx.calls(), []);
  assert(!(await exists(join(fx.root, "later"))), "the dry run made the binary's directory");
  assert(!(await exists(join(fx.home, ".config"))), "the dry run created ~/.config");
  assert(!(await exists(join(fx.home, "Library"))), "the dry run created ~/Library");

  // Without --dry-run it is still refused.
  const real = await fx.install(systemd(fx).map((a) => a === fx.binary ? later : a));
  assertEquals(real.code, 2, real.stderr);
  assertStringIncludes(real.stderr, `Binary not found: ${later}`);
});

Deno.test("uninstall runs the installed binary's release in the state directory once the service is stopped; a failed release is said, the uninstall goes on", async () => {
  for (const manager of ["launchd", "systemd"]) {
    await using fx = await Fixture.create();
    assertOk(await fx.install(manager === "launchd" ? launchd(fx) : systemd(fx)), "install");
    const ran = join(fx.root, "release.log");
    // The stand-in says where it ran and with what, and whether the service was stopped then.
    await writeExecutable(
      fx.binary,
      `#!/bin/sh\necho "$PWD $* $(ls "$STUB_STATE" | tr '\\n' ' ')" >> ${ran}\nexit 1\n`,
    );
    const r = await fx.uninstall(["--manager", manager]);
    assertOk(r, `${manager} uninstall`);
    const line = (await Deno.readTextFile(ran)).trim();
    assert(line.startsWith(`${fx.state} release`), line);
    assert(!line.includes("systemd-active") && !line.includes("launchd-job"), line);
    assertStringIncludes(r.stderr, "may still be read-only");
    assertStringIncludes(r.stderr, "release");
    assert(
      !(await exists(manager === "launchd" ? fx.plist : fx.unitFile)),
      "the file is still there",
    );
  }
});
