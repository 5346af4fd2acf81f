/**
 * The coordinator's declared permission set (`permissions.coordinator` in deno.json): the
 * command-line flags that carry it, what it grants in a working directory, and the check
 * `run` makes at start. Pure: the live permission state comes in as a function.
 *
 * The set's paths are relative, and must reach Deno as flags: Deno resolves the paths of a
 * deno.json permission set (`-P`) against deno.json's own directory, and `deno compile -P`
 * bakes them in as absolute paths of the build machine. As flags they stay relative and
 * bind to the working directory, which is the OpenClaw state directory.
 * @module
 */
import { isAbsolute, normalize, resolve, sep } from "node:path";
import meta from "../../deno.json" with { type: "json" };
import { netGrantOverride } from "./net_grant.ts";

export { overrideNetGrant } from "./net_grant.ts";

/** Kinds the set grants, each to a list of paths, hosts or variables. */
export const GRANTED_KINDS = ["read", "write", "net", "env"] as const;
/** Kinds the set denies outright. */
export const DENIED_KINDS = ["run", "sys", "ffi", "import"] as const;

/** A kind the set grants. */
export type GrantedKind = typeof GRANTED_KINDS[number];
/** A kind the set denies. */
export type DeniedKind = typeof DENIED_KINDS[number];

/** The declared permission set. */
export interface PermissionSet {
  /** Paths that may be read. */
  read: string[];
  /** Paths that may be written. */
  write: string[];
  /** Hosts (`host:port`) that may be reached. */
  net: string[];
  /** Environment variables that may be read. */
  env: string[];
}

/** The name of the set in deno.json. */
export const SET_NAME = "coordinator";

/**
 * Reads and checks the set from a deno.json `permissions` object (deno.json's own by default,
 * with the net grant this build was made with).
 */
export function declaredSet(permissions: unknown = meta.permissions): PermissionSet {
  const set = parseSet(permissions);
  const net = netGrantOverride();
  if (permissions === meta.permissions && net) set.net = net;
  return set;
}

function parseSet(permissions: unknown): PermissionSet {
  const fail = (detail: string): never => {
    throw new Error(`Invalid permission set "${SET_NAME}" in deno.json: ${detail}`);
  };
  const raw = (permissions as Record<string, unknown> | undefined)?.[SET_NAME];
  if (typeof raw !== "object" || raw === null) fail("missing");
  const entries = raw as Record<string, unknown>;
  const set: PermissionSet = { read: [], write: [], net: [], env: [] };
  for (const [kind, value] of Object.entries(entries)) {
    if ((DENIED_KINDS as readonly string[]).includes(kind)) {
      if (value !== false) fail(`${kind} must be false`);
      continue;
    }
    if (!(GRANTED_KINDS as readonly string[]).includes(kind)) fail(`unknown kind ${kind}`);
    if (!Array.isArray(value) || value.length === 0) {
      fail(`${kind} must be a non-empty list (true would grant everything)`);
    }
    for (const item of value as unknown[]) {
      if (typeof item !== "string" || item === "" || item.includes(",")) {
        fail(`${kind} entries must be non-empty strings without commas`);
      }
      const text = item as string;
      if (
        (kind === "read" || kind === "write") &&
        (isAbsolute(text) || normalize(text).split(/[\\/]/)[0] === "..")
      ) {
        fail(`${kind} path ${text} must be relative to the state directory`);
      }
      set[kind as GrantedKind].push(text);
    }
  }
  for (const kind of DENIED_KINDS) {
    if (entries[kind] !== false) fail(`${kind} must be present and false`);
  }
  for (const kind of GRANTED_KINDS) {
    if (set[kind].length === 0) fail(`${kind} is missing (an empty grant would not start)`);
  }
  return set;
}

/**
 * The Deno flags that grant `set` and nothing else: no prompts, every other kind denied.
 * `netOverride` replaces the net grant (tests whose gateway listens on another port).
 */
export function permissionFlags(set: PermissionSet, netOverride?: string[]): string[] {
  return [
    "--no-prompt",
    `--allow-read=${set.read.join(",")}`,
    `--allow-write=${set.write.join(",")}`,
    `--allow-net=${(netOverride ?? set.net).join(",")}`,
    `--allow-env=${set.env.join(",")}`,
    ...DENIED_KINDS.map((k) => `--deny-${k}`),
  ];
}

/** Asks Deno for the live state of a permission (`Deno.permissions.querySync`). */
export type QueryPermission = (desc: Deno.PermissionDescriptor) => Deno.PermissionState;

/** This process's own permission state. */
export const liveQuery: QueryPermission = (desc): Deno.PermissionState =>
  Deno.permissions.querySync(desc).state;

/** One declared grant and what it is in this process. */
export interface GrantState {
  /** The kind of permission. */
  kind: GrantedKind;
  /** As declared. */
  declared: string;
  /** The absolute path it grants in this working directory (read and write only). */
  resolved?: string;
  /** Whether this process has it. */
  granted: boolean;
  /** Deno's own word: granted, denied or prompt (prompt is a denial under --no-prompt). */
  state: Deno.PermissionState;
}

/** A kind, or everything of a kind beyond the declared entries, and its live state. */
export interface KindState {
  /** The kind of permission. */
  kind: GrantedKind | DeniedKind;
  /** What was asked: the whole kind, or anything of it outside the declared entries. */
  scope: "all" | "beyond the declared entries";
  /** Whether this process has it. */
  granted: boolean;
  /** Deno's own word: granted, denied or prompt. */
  state: Deno.PermissionState;
}

/** What `permissions` shows. */
export interface PermissionAudit {
  /** The permission set's name in deno.json. */
  set: string;
  /** The working directory the grants resolve against (absolute). */
  workingDirectory: string;
  /** Each declared grant and its live state. */
  grants: GrantState[];
  /**
   * Each kind beyond the declared entries and its live state: all denied under the set; a
   * process started with more (`-A`) has some granted. (The name predates that reading.)
   */
  notGranted: KindState[];
  /** Every declared grant is live. */
  allGranted: boolean;
  /**
   * Kinds granted as a whole (beyond their declared entries): none under the set. Deno
   * answers only what is asked, so extra grants of other named paths, hosts or variables
   * cannot show here; the set built into a binary is read from the binary itself.
   */
  wholeKindsGranted: string[];
}

function descriptor(kind: GrantedKind, value: string): Deno.PermissionDescriptor {
  switch (kind) {
    case "read":
    case "write":
      return { name: kind, path: value };
    case "net":
      return { name: "net", host: value };
    case "env":
      return { name: "env", variable: value };
  }
}

/** Resolves each declared grant against `cwd` and reads its live state with `query`. */
export function auditPermissions(
  set: PermissionSet,
  cwd: string,
  query: QueryPermission,
): PermissionAudit {
  const grants: GrantState[] = [];
  for (const kind of GRANTED_KINDS) {
    for (const declared of set[kind]) {
      const isPath = kind === "read" || kind === "write";
      const resolved = isPath ? resolve(cwd, declared) : undefined;
      const state = query(descriptor(kind, resolved ?? declared));
      grants.push({
        kind,
        declared,
        ...(resolved !== undefined ? { resolved } : {}),
        granted: state === "granted",
        state,
      });
    }
  }
  const notGranted: KindState[] = [];
  // A query without a path, host or variable asks for the whole kind: granted only when the
  // process may touch anything of that kind, beyond the declared entries.
  for (const kind of GRANTED_KINDS) {
    const state = query({ name: kind });
    notGranted.push({
      kind,
      scope: "beyond the declared entries",
      granted: state === "granted",
      state,
    });
  }
  for (const kind of DENIED_KINDS) {
    const state = query({ name: kind });
    notGranted.push({ kind, scope: "all", granted: state === "granted", state });
  }
  return {
    set: SET_NAME,
    workingDirectory: cwd,
    grants,
    notGranted,
    allGranted: grants.every((g) => g.granted),
    wholeKindsGranted: notGranted.filter((k) => k.granted).map((k) => k.kind),
  };
}

/** The `permissions` command's text. */
export function formatAudit(audit: PermissionAudit): string {
  const word = (granted: boolean) => (granted ? "granted" : "denied");
  const lines = [
    `Permission set "${audit.set}" (deno.json), relative paths resolved against the working`,
    `directory ${audit.workingDirectory}:`,
    "",
  ];
  const width = Math.max(...audit.grants.map((g) => (g.resolved ?? g.declared).length));
  for (const g of audit.grants) {
    const target = (g.resolved ?? g.declared).padEnd(width);
    const note = g.resolved !== undefined ? `  (${g.declared})` : "";
    lines.push(`  ${g.kind.padEnd(6)} ${target}  ${word(g.granted)}${note}`);
  }
  // The kinds beyond the set go under a heading that says what their lines say: a process
  // started with more than the set (-A) shows them granted, and not under "Not granted".
  const kindLine = (k: KindState) =>
    `  ${(k.scope === "all" ? `${k.kind} (any)` : `${k.kind} (anything else)`).padEnd(22)} ` +
    word(k.granted);
  const beyond = audit.notGranted.filter((k) => k.granted);
  const denied = audit.notGranted.filter((k) => !k.granted);
  if (beyond.length > 0) lines.push("", "Granted beyond the set:", ...beyond.map(kindLine));
  if (denied.length > 0) lines.push("", "Not granted:", ...denied.map(kindLine));
  lines.push(
    "",
    audit.allGranted
      ? "Every declared grant is live."
      : "Some declared grants are not live: run in the OpenClaw state directory.",
    audit.wholeKindsGranted.length === 0
      ? "No kind is granted as a whole. (Deno answers only for what is named: to see every " +
        "grant built into a binary, read its embedded set; see the README.)"
      : `Granted as a whole, beyond the set: ${audit.wholeKindsGranted.join(", ")}.`,
  );
  return lines.join("\n");
}

/** What `run` needs from the sandbox, resolved for its paths and gateway. */
export interface RunNeeds {
  /** The working directory (absolute). */
  cwd: string;
  /** The state directory as given (`--state-dir`, default "."). */
  stateDir: string;
  /** The ledger file. */
  ledger: string;
  /** Directories the coordinator writes: the ledger's and its own. */
  writeDirs: string[];
  /** Files read: governance state, config, OpenClaw config. */
  reads: string[];
  /** The gateway's WebSocket URL (`--gateway`). */
  gateway: string;
}

/** A grant `run` lacks, with why and how to fix it. */
export interface MissingGrant {
  /** The grant lacking, e.g. `read governance/state.json`. */
  grant: string;
  /** What cannot be done without it, and how to fix it. */
  message: string;
}

/** The `host:port` a gateway URL connects to, as Deno's net permission names it. */
export function gatewayHost(url: string): string {
  const u = new URL(url);
  const port = u.port !== "" ? u.port : u.protocol === "wss:" ? "443" : "80";
  return `${u.hostname}:${port}`;
}

/**
 * The grants `run` lacks: write to its directories, read of its files, net to the gateway.
 * Each message names the grant and why it is missing (a state directory that is not the
 * working directory, a path outside the set, a gateway outside the net grant).
 */
export function missingGrants(
  needs: RunNeeds,
  set: PermissionSet,
  query: QueryPermission,
): MissingGrant[] {
  const missing: MissingGrant[] = [];
  const abs = (p: string) => normalize(resolve(needs.cwd, p));
  const stateAbs = abs(needs.stateDir);
  const lacking: { kind: "read" | "write"; path: string }[] = [];
  for (const dir of needs.writeDirs) {
    const path = abs(dir);
    if (query({ name: "write", path }) !== "granted") lacking.push({ kind: "write", path });
  }
  for (const file of [needs.ledger, ...needs.reads]) {
    const path = abs(file);
    if (query({ name: "read", path }) !== "granted") lacking.push({ kind: "read", path });
  }
  if (lacking.length > 0 && stateAbs !== needs.cwd) {
    // One cause for all of them: say it once.
    missing.push({
      grant: `${lacking.map((l) => `${l.kind} ${l.path}`).join(", ")}`,
      message: `Access to the state directory ${stateAbs} is not granted: the grants are ` +
        `relative to the working directory (${needs.cwd}), and --state-dir names another ` +
        "path (paths are matched as written: a symbolic link to the same place counts as " +
        `another); start the coordinator in ${stateAbs} (the service's WorkingDirectory) ` +
        "and leave --state-dir out",
    });
  } else {
    for (const { kind, path } of lacking) {
      const grants = set[kind].map((g) => abs(g));
      const inside = grants.some((g) => path === g || path.startsWith(g + sep));
      missing.push({
        grant: `${kind} ${path}`,
        message: `${kind === "read" ? "Read" : "Write"} access to ${path} is not granted: ` +
          (inside
            ? "the process was not started with the declared set; start it with " +
              "'deno task start' or the compiled binary"
            : `it is outside the set, which grants ${kind} only to ${grants.join(", ")}`),
      });
    }
  }
  let host: string;
  try {
    host = gatewayHost(needs.gateway);
  } catch {
    return missing;
  }
  if (query({ name: "net", host }) !== "granted") {
    const hint = host.startsWith("localhost:")
      ? " (Deno's sandbox tells localhost and 127.0.0.1 apart: use 127.0.0.1)"
      : "";
    missing.push({
      grant: `net ${host}`,
      message: `Network access to ${host} is not granted: --gateway ${needs.gateway} is outside ` +
        `the net grant, which allows only ${set.net.join(", ")}${hint}; use --gateway ` +
        `ws://${set.net[0]} or leave --gateway out, or, for a gateway on another port, ` +
        "build a binary whose grant names it (from a checkout: deno task compile --port " +
        `${portOf(host) ?? "PORT"}; see the README, "Another gateway port")`,
    });
  }
  return missing;
}

function portOf(host: string): string | undefined {
  return /:(\d+)$/.exec(host)?.[1];
}

/** Where a command runs and the state directory it was given, to explain a refused path. */
export interface DeniedContext {
  /** The working directory (absolute). */
  cwd: string;
  /** The state directory as given (`--state-dir`, default "."). */
  stateDir: string;
  /** How to pass a path inside the set, e.g. "use a --ledger under audits/moses". */
  fix?: string;
}

/**
 * Why the sandbox refused `kind` access to `path`, for a command other than `run` (which
 * checks ahead with {@link missingGrants}): the grant, and how to get it.
 */
export function explainDenied(
  kind: "read" | "write",
  path: string,
  ctx: DeniedContext,
  set: PermissionSet,
): MissingGrant {
  const abs = (p: string) => normalize(resolve(ctx.cwd, p));
  const target = abs(path);
  const stateAbs = abs(ctx.stateDir);
  const grants = set[kind].map((g) => abs(g));
  const within = (dir: string) => target === dir || target.startsWith(dir + sep);
  const head = `${kind === "read" ? "Read" : "Write"} access to ${target} is not granted: `;
  let why: string;
  if (stateAbs !== ctx.cwd && within(stateAbs)) {
    why = `the grants are relative to the working directory (${ctx.cwd}), and --state-dir ` +
      `names another path; run this command in ${stateAbs} (cd there) and leave --state-dir out`;
  } else if (grants.some(within)) {
    why = "the process was not started with the declared set; run the compiled binary, or " +
      `deno run with --allow-${kind}=${target}`;
  } else {
    why = `it is outside the set, which grants ${kind} only to ${grants.join(", ")}` +
      (ctx.fix !== undefined ? `; ${ctx.fix}` : "");
  }
  return { grant: `${kind} ${target}`, message: head + why };
}
