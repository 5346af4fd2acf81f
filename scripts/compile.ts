/**
 * `deno task compile`: builds the `moses-coordinator` binary for each release target into
 * `dist/`, under the declared permission set (deno.json, "coordinator") passed as flags so
 * its paths stay relative, with prompts off, and writes `dist/SHA256SUMS`.
 *
 * Usage: deno task compile [--target TRIPLE]... [--out DIR] [--port N]
 *
 * `--port N` builds binaries whose net grant is 127.0.0.1:N instead of the declared one (for a
 * gateway on another port), and nothing else different: their `run` connects there by
 * default and their `permissions` shows it. They are named `moses-coordinator-<version>-portN-
 * <target>`, so they are not mistaken for the release's.
 *
 * `deno compile` downloads the Deno runtime (denort) for each target from dl.deno.land.
 * Where that host cannot be reached, set DENORT_BIN to a denort binary and name its target
 * (the host's by default). Exit codes: 0 built, 1 a build failed, 2 usage, 69 the runtime
 * cannot be fetched.
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { declaredSet, permissionFlags, type PermissionSet } from "../lib/service/permissions.ts";
import { v8FlagsArg } from "../lib/service/v8_flags.ts";
import { differences, embeddedPermissions } from "./embedded_permissions.ts";
import { VERSION } from "../lib/version.ts";

/** The release targets. */
export const TARGETS = [
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-pc-windows-msvc",
] as const;

/** Exit code when the compile runtime cannot be fetched (EX_UNAVAILABLE). */
export const EXIT_RUNTIME_UNAVAILABLE = 69;

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The file name of the binary for `target` (and a net grant's `port` other than the declared). */
export function binaryName(target: string, opts: { port?: number } = {}): string {
  const port = opts.port !== undefined ? `port${opts.port}-` : "";
  return `moses-coordinator-${VERSION}-${port}${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The net grant of a build: the declared one, or 127.0.0.1:`port`. */
export function netGrant(port?: number): string[] {
  return port === undefined ? declaredSet().net : [`127.0.0.1:${port}`];
}

/** The declared set with the net grant of a build for `port`. */
export function buildSet(port?: number): PermissionSet {
  return { ...declaredSet(), net: netGrant(port) };
}

/** `--port`'s value as a port number; undefined when it is not one. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Where the entry module of a build for `port` is written (and removed after the build). */
export function portEntryPath(port: number): string {
  return join(ROOT, "scripts", `.compile_entry_port${port}.ts`);
}

/**
 * The entry module of a build for `port`: main.ts, with the net grant the binary is built with
 * set first, so that `permissions` and `run` agree with the grant. It imports what main.ts
 * does and the grant's own module, not the folders' faces (which load the daemon, the gateway
 * and every command: start-up time for `verify`, `status` and `--help`).
 */
export function portEntrySource(port: number): string {
  return `// Written by scripts/compile.ts --port ${port} for one build, then removed.
import { overrideNetGrant } from "../lib/service/net_grant.ts";
import { main } from "../lib/cli/main.ts";

overrideNetGrant(${JSON.stringify(netGrant(port))});
Deno.exit(await main(Deno.args));
`;
}

/** The `deno compile` arguments for `target` writing to `output` (a net grant's `port`). */
export function compileArgs(
  target: string,
  output: string,
  opts: { port?: number } = {},
): string[] {
  return [
    "compile",
    v8FlagsArg(),
    ...permissionFlags(declaredSet(), opts.port !== undefined ? netGrant(opts.port) : undefined),
    "--target",
    target,
    "--output",
    output,
    opts.port !== undefined ? portEntryPath(opts.port) : "main.ts",
  ];
}

/** The runtime download that failed, if `stderr` is deno compile failing to fetch denort. */
export function runtimeDownloadFailure(stderr: string): string | undefined {
  return /error sending request for url \((https:\/\/dl\.deno\.land\/[^)]+)\)/.exec(stderr)?.[1];
}

/** The SHA256SUMS line format of `sha256sum`: hex digest, two spaces, file name. */
export async function sumLine(path: string): Promise<string> {
  const h = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) h.update(chunk);
  return `${h.digest("hex")}  ${basename(path)}`;
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string", multiple: true },
        out: { type: "string" },
        port: { type: "string" },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(
      `Invalid arguments: ${(err as Error).message}; usage: deno task compile ` +
        "[--target T]... [--out DIR] [--port N]",
    );
    return 2;
  }
  const port = values.port !== undefined ? parsePort(values.port) : undefined;
  if (values.port !== undefined && port === undefined) {
    console.error(`Invalid --port ${values.port}: use a port number from 1 to 65535`);
    return 2;
  }
  if (port !== undefined) await Deno.writeTextFile(portEntryPath(port), portEntrySource(port));
  try {
    return await build({ targets: values.target, out: values.out, port });
  } finally {
    if (port !== undefined) await Deno.remove(portEntryPath(port)).catch(() => {});
  }
}

async function build(opts: { targets?: string[]; out?: string; port?: number }): Promise<number> {
  const { port } = opts;
  const denort = Deno.env.get("DENORT_BIN");
  let targets: string[] = opts.targets ?? (denort ? [Deno.build.target] : [...TARGETS]);
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      console.error(`Unknown target ${t}: use one of ${TARGETS.join(", ")}`);
      return 2;
    }
  }
  if (denort && targets.length > 1) {
    console.error(
      "DENORT_BIN is the runtime of one target: name it with --target (one), or unset " +
        "DENORT_BIN to download each target's runtime",
    );
    return 2;
  }
  targets = [...new Set(targets)];
  const out = opts.out ?? join(ROOT, "dist");
  await Deno.mkdir(out, { recursive: true });
  const sums = join(out, "SHA256SUMS");
  await Deno.remove(sums).catch(() => {});
  // Binaries of an earlier build would sit beside the new sums without being in them.
  for await (const e of Deno.readDir(out)) {
    if (e.isFile && e.name.startsWith("moses-coordinator-")) await Deno.remove(join(out, e.name));
  }

  const built: string[] = [];
  for (const target of targets) {
    const output = join(out, binaryName(target, port !== undefined ? { port } : {}));
    console.error(`Building ${basename(output)}${denort ? ` with DENORT_BIN=${denort}` : ""}`);
    const result = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, output, port !== undefined ? { port } : {}),
      cwd: ROOT,
      stdout: "inherit",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    if (!result.success) {
      const url = runtimeDownloadFailure(stderr);
      if (url !== undefined) {
        console.error(
          `Cannot build ${target}: the Deno runtime for it cannot be downloaded on this ` +
            `machine (${url}). Set DENORT_BIN to a denort binary for the target and pass ` +
            "--target, or build where dl.deno.land is reachable (the release workflow does).",
        );
        return EXIT_RUNTIME_UNAVAILABLE;
      }
      console.error(stderr.trimEnd());
      console.error(`Cannot build ${target}: deno compile exited ${result.code}`);
      return 1;
    }
    // What the binary will be allowed is what deno compile wrote into it: check that.
    const perms = embeddedPermissions(await Deno.readFile(output));
    const diff = perms === undefined
      ? ["no permission metadata found"]
      : differences(perms, buildSet(port));
    if (diff.length > 0) {
      console.error(`${basename(output)} does not carry the declared set: ${diff.join("; ")}`);
      return 1;
    }
    built.push(output);
  }
  const lines = [];
  for (const path of built) lines.push(await sumLine(path));
  await Deno.writeTextFile(sums, lines.join("\n") + "\n");
  console.error(`Wrote ${sums}:`);
  console.error(lines.join("\n"));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
