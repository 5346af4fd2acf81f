/**
 * The state snapshot: where each conversation stands, and violations not yet written,
 * so a restart loses neither. Written atomically; a bad file is set aside, not trusted.
 * @module
 */
import type { ConversationSnapshot } from "./sequence.ts";
import type { Violation } from "./violation.ts";
import type { TurnsSnapshot } from "./turns.ts";
import { errorText, readTextIfExists, writeFileAtomic } from "./fsutil.ts";

/** The snapshot's contents. */
export interface Snapshot {
  sequence: string[];
  savedAt: number;
  conversations: ConversationSnapshot[];
  pending: Violation[];
  /** OpenClaw: turns counted per session, and how far the coordinator had caught up. */
  turns?: TurnsSnapshot;
}

const FORMAT = 1;

/** Serialises a snapshot. */
export function encodeSnapshot(s: Snapshot): string {
  return JSON.stringify({
    format: FORMAT,
    sequence: s.sequence,
    savedAt: s.savedAt,
    conversations: s.conversations.map((c) => [c.conversation, c.last, c.seenAt]),
    pending: s.pending,
    ...(s.turns ? { turns: s.turns } : {}),
  }) + "\n";
}

/** Parses a snapshot; throws a clear error on anything malformed. */
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
  if (typeof r !== "object" || r === null || r.format !== FORMAT) {
    return fail(`not a format ${FORMAT} snapshot`);
  }
  if (!Array.isArray(r.sequence) || !r.sequence.every((x) => typeof x === "string")) {
    return fail('"sequence" is not a list of role names');
  }
  if (!Array.isArray(r.conversations) || !Array.isArray(r.pending)) {
    return fail('"conversations" and "pending" must be lists');
  }
  const conversations: ConversationSnapshot[] = [];
  for (const [i, c] of (r.conversations as unknown[]).entries()) {
    if (
      !Array.isArray(c) || typeof c[0] !== "string" || typeof c[1] !== "number" ||
      typeof c[2] !== "number"
    ) {
      return fail(`conversation entry ${i} is malformed`);
    }
    conversations.push({ conversation: c[0], last: c[1], seenAt: c[2] });
  }
  const pending: Violation[] = [];
  for (const [i, p] of (r.pending as unknown[]).entries()) {
    const v = p as Partial<Violation> | null;
    if (
      typeof v !== "object" || v === null || typeof v.id !== "string" || typeof v.at !== "number" ||
      typeof v.conversation !== "string" || typeof v.agent !== "string" ||
      typeof v.role !== "string" || typeof v.expected !== "string" ||
      (v.protocol !== "legacy" && v.protocol !== "openclaw") || !Array.isArray(v.sequence)
    ) {
      return fail(`pending violation ${i} is malformed`);
    }
    pending.push(v as Violation);
  }
  let turns: TurnsSnapshot | undefined;
  if (r.turns !== undefined) {
    const t = r.turns as Partial<TurnsSnapshot> | null;
    if (
      typeof t !== "object" || t === null || typeof t.caughtUpAt !== "number" ||
      !Array.isArray(t.sessions)
    ) {
      return fail('"turns" is malformed');
    }
    turns = t as TurnsSnapshot;
  }
  return {
    sequence: r.sequence as string[],
    savedAt: typeof r.savedAt === "number" ? r.savedAt : 0,
    conversations,
    pending,
    ...(turns ? { turns } : {}),
  };
}

/** Writes the snapshot atomically. */
export async function saveSnapshot(path: string, s: Snapshot): Promise<void> {
  await writeFileAtomic(path, encodeSnapshot(s));
}

/** The result of loading: a snapshot, nothing, or an error with where the bad file was moved. */
export interface LoadedSnapshot {
  snapshot?: Snapshot;
  error?: string;
  movedTo?: string;
}

/** Loads the snapshot; a malformed one is renamed aside (`.bad-<time>`) so it is kept, not used. */
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
