/**
 * One daemon per state directory: the running one holds an advisory lock on
 * `audits/moses/coordinator/daemon.lock` and writes its pid there, so a second one can say
 * which process holds it. The lock goes with the process (a kill releases it).
 * @module
 */
import { errorText, writeAll } from "../../util/mod.ts";

/** A held instance lock. */
export interface InstanceLock {
  /** Releases the lock (at exit); again is nothing. */
  release(): void;
}

/** Another daemon holds the lock. */
export class InstanceLocked extends Error {
  /** `holder` is what the lock file says of the process holding it, when readable. */
  constructor(readonly path: string, readonly holder: { pid?: number; startedAt?: string }) {
    const who = holder.pid !== undefined
      ? `process ${holder.pid}${holder.startedAt ? `, started ${holder.startedAt}` : ""}`
      : "another process";
    super(
      `Cannot run: another coordinator (${who}) is running on this state directory ` +
        `(it holds ${path}); stop it first (if it is the service, stop the service), ` +
        "or use it: 'moses-coordinator status' shows it",
    );
    this.name = "InstanceLocked";
  }
}

/**
 * Takes the lock at `path` without waiting, and records `pid` in the file. Throws
 * {@link InstanceLocked} when another process holds it, or an I/O error.
 */
export async function takeInstanceLock(
  path: string,
  me: { pid: number; startedAt: string },
): Promise<InstanceLock> {
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  let locked = false;
  try {
    // `status` holds a shared lock for an instant to see whether a daemon runs: try again
    // shortly before calling the lock taken.
    for (let attempt = 0; attempt < 3 && !locked; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 25));
      locked = await file.tryLock(true);
    }
  } catch (err) {
    file.close();
    throw new Error(`Cannot lock ${path}: ${errorText(err)}`, { cause: err });
  }
  if (!locked) {
    let holder: { pid?: number; startedAt?: string } = {};
    try {
      holder = parseHolder(new TextDecoder().decode(readAll(file)));
    } catch {
      // An unreadable lock file still names the lock.
    }
    file.close();
    throw new InstanceLocked(path, holder);
  }
  try {
    await file.truncate(0);
    await writeAll(file, new TextEncoder().encode(JSON.stringify(me) + "\n"));
  } catch {
    // Who holds the lock is a courtesy; the lock itself is what counts.
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

/**
 * Whether a daemon holds the lock at `path` now: "running", "not running" (no lock file, or
 * nobody holds it), without taking it for more than an instant, and with read access only.
 */
export async function daemonLiveness(path: string): Promise<"running" | "not running"> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "not running";
    throw err;
  }
  try {
    if (!(await file.tryLock(false))) return "running";
    await file.unlock();
    return "not running";
  } finally {
    file.close();
  }
}

function readAll(file: Deno.FsFile): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  file.seekSync(0, Deno.SeekMode.Start);
  for (let total = 0; total < 64 * 1024;) {
    const n = file.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function parseHolder(text: string): { pid?: number; startedAt?: string } {
  const h = JSON.parse(text) as Record<string, unknown>;
  return {
    ...(typeof h.pid === "number" ? { pid: h.pid } : {}),
    ...(typeof h.startedAt === "string" ? { startedAt: h.startedAt } : {}),
  };
}
