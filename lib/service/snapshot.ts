/**
 * The state snapshot: each rule's state, findings not yet written, and how far the
 * OpenClaw watcher had caught up, so a restart loses none of them. Written atomically in
 * one synchronous pass (one moment of the daemon's state). An entry that cannot be read is
 * kept aside in a file of its own and the rest is used; only a file that is not JSON at all
 * is set aside whole.
 * @module
 */
import type { TurnsSnapshot } from "../gateway/mod.ts";
import {
  type Finding,
  isFinding,
  type Protocol,
  type Rule,
  sequenceFinding,
  type Violation,
} from "../rules/mod.ts";
import { errorText, readTextIfExists, writeFileAtomic, writeFileAtomicFrom } from "../util/mod.ts";
import { isLockedSession, type LockedSession } from "./enforce/mod.ts";

/** The snapshot as read back. */
export interface Snapshot {
  /** When it was written, ms since the epoch (0 if the file did not say). */
  savedAt: number;
  /** Each rule's saved state, by rule id, as written (each rule reads its own). */
  rules: Record<string, unknown>;
  /** Findings that were waiting to be written to the ledger. */
  pending: Finding[];
  /** OpenClaw: turns counted per session, and how far the coordinator had caught up. */
  turns?: TurnsSnapshot;
  /** `enforce: prevent`: the sessions the coordinator made read-only (none in older snapshots). */
  prevented: LockedSession[];
  /** Entries that could not be read, with why: the loader keeps them aside. */
  rejected: RejectedEntry[];
}

/** A part of a snapshot that could not be read. */
export interface RejectedEntry {
  /** What it was, e.g. `pending[3]`. */
  what: string;
  /** Why it could not be read. */
  reason: string;
  /** The entry as it was in the file. */
  entry: unknown;
}

/** What to save; everything is read while the file is written, in one synchronous pass. */
export interface SnapshotToSave {
  /** When it is written, ms since the epoch. */
  savedAt: number;
  /** Rules whose state is saved (those with `saveState`). */
  rules: readonly Rule[];
  /** Saved states of rules not running now (turned off), carried over as they were. */
  carried?: Readonly<Record<string, unknown>>;
  /** The findings waiting to be written. */
  pending: () => Iterable<Finding>;
  /** The OpenClaw watcher's state, if any. */
  turns?: () => TurnsSnapshot | undefined;
  /** The sessions the coordinator made read-only, if any. */
  prevented?: () => readonly LockedSession[];
}

const FORMAT = 2;
// Text is handed on once this much has gathered.
const CHUNK_CHARS = 16 * 1024;

/**
 * Serialises a snapshot piece by piece: `write` receives text of about 16 KiB at a time
 * (more only for one large entry), which together is one line of JSON.
 */
export function encodeSnapshotTo(s: SnapshotToSave, write: (text: string) => void): void {
  let out = `{"format":${FORMAT},"savedAt":${JSON.stringify(s.savedAt)},"rules":{`;
  const put = (json: string) => {
    out += json;
    if (out.length >= CHUNK_CHARS) {
      write(out);
      out = "";
    }
  };
  let firstRule = true;
  for (const rule of s.rules) {
    if (rule.saveState === undefined) continue;
    put(`${firstRule ? "" : ","}${JSON.stringify(rule.id)}:`);
    rule.saveState(put);
    firstRule = false;
  }
  const running = new Set(s.rules.map((r) => r.id));
  for (const [id, state] of Object.entries(s.carried ?? {})) {
    if (running.has(id)) continue;
    put(`${firstRule ? "" : ","}${JSON.stringify(id)}:${JSON.stringify(state)}`);
    firstRule = false;
  }
  put(`},"pending":[`);
  let first = true;
  for (const f of s.pending()) {
    put(first ? JSON.stringify(f) : "," + JSON.stringify(f));
    first = false;
  }
  put("]");
  const turns = s.turns?.();
  if (turns) {
    put(`,"turns":{"caughtUpAt":${JSON.stringify(turns.caughtUpAt)},"sessions":[`);
    first = true;
    for (const session of turns.sessions) {
      put(first ? JSON.stringify(session) : "," + JSON.stringify(session));
      first = false;
    }
    put("]}");
  }
  const prevented = s.prevented?.() ?? [];
  if (prevented.length > 0) put(`,"prevented":${JSON.stringify(prevented)}`);
  write(out + "}\n");
}

/** Serialises a snapshot as one string. */
export function encodeSnapshot(s: SnapshotToSave): string {
  const parts: string[] = [];
  encodeSnapshotTo(s, (text) => parts.push(text));
  return parts.join("");
}

/**
 * Parses a snapshot (format 2, or format 1 from before the rule engine). Throws a clear
 * error when the text is not a snapshot at all; entries it cannot read are returned in
 * `rejected`, and the rest is used.
 */
export function decodeSnapshot(text: string, source: string): Snapshot {
  const fail = (what: string): never => {
    throw new Error(`Cannot read state snapshot ${source}: ${what}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(errorText(err));
  }
  const r = raw as Record<string, unknown> | null;
  if (typeof r !== "object" || r === null || Array.isArray(r)) return fail("not a JSON object");
  if (r.format === 1) return decodeFormat1(r);
  if (r.format !== FORMAT) return fail(`not a format ${FORMAT} snapshot`);
  const rejected: RejectedEntry[] = [];
  const rules: Record<string, unknown> = {};
  if (typeof r.rules === "object" && r.rules !== null && !Array.isArray(r.rules)) {
    Object.assign(rules, r.rules);
  } else if (r.rules !== undefined) {
    rejected.push({ what: "rules", reason: "not an object", entry: r.rules });
  }
  const pending: Finding[] = [];
  if (Array.isArray(r.pending)) {
    for (const [i, p] of r.pending.entries()) {
      if (isFinding(p)) pending.push(p);
      else rejected.push({ what: `pending[${i}]`, reason: "not a finding", entry: p });
    }
  } else if (r.pending !== undefined) {
    rejected.push({ what: "pending", reason: "not a list", entry: r.pending });
  }
  return {
    savedAt: typeof r.savedAt === "number" ? r.savedAt : 0,
    rules,
    pending,
    ...turnsOf(r, rejected),
    prevented: preventedOf(r, rejected),
    rejected,
  };
}

function preventedOf(r: Record<string, unknown>, rejected: RejectedEntry[]): LockedSession[] {
  if (r.prevented === undefined) return [];
  if (!Array.isArray(r.prevented)) {
    rejected.push({ what: "prevented", reason: "not a list", entry: r.prevented });
    return [];
  }
  const out: LockedSession[] = [];
  for (const [i, e] of r.prevented.entries()) {
    if (isLockedSession(e)) out.push(e);
    else rejected.push({ what: `prevented[${i}]`, reason: "not a locked session", entry: e });
  }
  return out;
}

// Format 1: the sequence rule's state at the top, pending violations as flat records.
function decodeFormat1(r: Record<string, unknown>): Snapshot {
  const rejected: RejectedEntry[] = [];
  const rules: Record<string, unknown> = {};
  if (r.sequence !== undefined || r.conversations !== undefined) {
    rules.sequence = { sequence: r.sequence, conversations: r.conversations };
  }
  const pending: Finding[] = [];
  for (const [i, p] of (Array.isArray(r.pending) ? r.pending : []).entries()) {
    const v = p as Record<string, unknown> | null;
    if (
      typeof v !== "object" || v === null || typeof v.id !== "string" ||
      typeof v.at !== "number" || typeof v.conversation !== "string" ||
      typeof v.agent !== "string" || typeof v.role !== "string" ||
      typeof v.expected !== "string" || (v.protocol !== "legacy" && v.protocol !== "openclaw") ||
      !Array.isArray(v.sequence) || !v.sequence.every((x) => typeof x === "string")
    ) {
      rejected.push({ what: `pending[${i}]`, reason: "not a violation", entry: p });
      continue;
    }
    const violation: Violation = {
      id: v.id,
      conversation: v.conversation,
      agent: v.agent,
      role: v.role,
      expected: v.expected,
      sequence: v.sequence as string[],
      protocol: v.protocol as Protocol,
    };
    pending.push(sequenceFinding(violation, v.at));
  }
  return {
    savedAt: typeof r.savedAt === "number" ? r.savedAt : 0,
    rules,
    pending,
    ...turnsOf(r, rejected),
    prevented: [],
    rejected,
  };
}

function turnsOf(r: Record<string, unknown>, rejected: RejectedEntry[]): { turns?: TurnsSnapshot } {
  if (r.turns === undefined) return {};
  const t = r.turns as Partial<TurnsSnapshot> | null;
  if (
    typeof t !== "object" || t === null || typeof t.caughtUpAt !== "number" ||
    !Array.isArray(t.sessions)
  ) {
    rejected.push({ what: "turns", reason: "malformed", entry: r.turns });
    return {};
  }
  return { turns: t as TurnsSnapshot };
}

/**
 * Writes the snapshot atomically, streaming it to the file rather than building it whole.
 * Everything is read in one synchronous pass once the call starts: one moment of the state.
 */
export async function saveSnapshot(path: string, s: SnapshotToSave): Promise<void> {
  await writeFileAtomicFrom(path, (write) => encodeSnapshotTo(s, write));
}

/** The result of loading: a snapshot, nothing, or an error with where the bad file was moved. */
export interface LoadedSnapshot {
  /** The snapshot, when the file was there and readable. */
  snapshot?: Snapshot;
  /** Why the file could not be read or used. */
  error?: string;
  /** Where a file that is not a snapshot was renamed to. */
  movedTo?: string;
}

/**
 * Loads the snapshot. A file that is not a snapshot is renamed aside (`.bad-<time>`) so it
 * is kept, not used. Entries that cannot be read come back in `snapshot.rejected`: keep them
 * with {@link keepAside} (together with anything else the caller could not use).
 */
export async function loadSnapshot(path: string, now: number): Promise<LoadedSnapshot> {
  let text: string | undefined;
  try {
    text = await readTextIfExists(path);
  } catch (err) {
    return { error: `Cannot read state snapshot ${path}: ${errorText(err)}` };
  }
  if (text === undefined) return {};
  try {
    return { snapshot: decodeSnapshot(text, path) };
  } catch (err) {
    const movedTo = `${path}.bad-${now}`;
    try {
      await Deno.rename(path, movedTo);
      return { error: errorText(err), movedTo };
    } catch {
      return { error: errorText(err) };
    }
  }
}

/**
 * Writes entries that could not be used to `<path>.rejected-<now>` (a JSON list, with why),
 * beside the snapshot; returns where. One call per load, so nothing kept overwrites another.
 */
export async function keepAside(
  path: string,
  aside: { entries: readonly RejectedEntry[]; now: number },
): Promise<string> {
  const rejectedIn = `${path}.rejected-${aside.now}`;
  try {
    await writeFileAtomic(rejectedIn, JSON.stringify(aside.entries) + "\n");
  } catch (err) {
    throw new Error(
      `Cannot keep unreadable snapshot entries aside in ${rejectedIn}: ${errorText(err)}`,
      { cause: err },
    );
  }
  return rejectedIn;
}

/**
 * Replaces the record of sessions made read-only in the snapshot at `path`, the rest kept as
 * it is (`release`, with the daemon stopped). Nothing to write when there is no snapshot.
 */
export async function replacePrevented(
  path: string,
  prevented: readonly LockedSession[],
): Promise<void> {
  const text = await readTextIfExists(path);
  if (text === undefined) return;
  const raw = JSON.parse(text) as Record<string, unknown>;
  if (prevented.length > 0) raw.prevented = prevented;
  else delete raw.prevented;
  await writeFileAtomic(path, JSON.stringify(raw) + "\n");
}
