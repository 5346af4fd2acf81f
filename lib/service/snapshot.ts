/**
 * The state snapshot: where each conversation stands, and violations not yet written,
 * so a restart loses neither. Written atomically; a bad file is set aside, not trusted.
 * @module
 */
import type { ConversationSnapshot } from "../rules/mod.ts";
import type { Violation } from "../rules/mod.ts";
import type { TurnsSnapshot } from "../gateway/mod.ts";
import { errorText, readTextIfExists, writeFileAtomicFrom } from "../util/mod.ts";

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

/** Lists conversations, least recently active first, without copying them (a SequenceEngine). */
export interface ConversationList {
  forEachConversation(fn: (conversation: string, last: number, seenAt: number) => void): void;
}

/** A snapshot to save: its conversations may come straight from the engine. */
export interface SnapshotToSave extends Omit<Snapshot, "conversations"> {
  conversations: ConversationList | readonly ConversationSnapshot[];
}

// Text is handed on once this much has gathered.
const CHUNK_CHARS = 16 * 1024;

/**
 * Serialises a snapshot piece by piece: `write` receives text of about 16 KiB at a time
 * (more only for one large entry), which together is one line of JSON.
 */
export function encodeSnapshotTo(s: SnapshotToSave, write: (text: string) => void): void {
  let out = `{"format":${FORMAT},"sequence":${JSON.stringify(s.sequence)},"savedAt":${
    JSON.stringify(s.savedAt)
  }`;
  let first = true;
  const open = (key: string) => {
    out += `,"${key}":[`;
    first = true;
  };
  const add = (json: string) => {
    out += first ? json : "," + json;
    first = false;
    if (out.length >= CHUNK_CHARS) {
      write(out);
      out = "";
    }
  };
  const conversation = (c: string, last: number, seenAt: number) =>
    add(`[${JSON.stringify(c)},${JSON.stringify(last)},${JSON.stringify(seenAt)}]`);
  open("conversations");
  if ("forEachConversation" in s.conversations) {
    s.conversations.forEachConversation(conversation);
  } else {
    for (const c of s.conversations) conversation(c.conversation, c.last, c.seenAt);
  }
  out += "]";
  open("pending");
  for (const p of s.pending) add(JSON.stringify(p));
  out += "]";
  if (s.turns) {
    out += `,"turns":{"caughtUpAt":${JSON.stringify(s.turns.caughtUpAt)}`;
    open("sessions");
    for (const session of s.turns.sessions) add(JSON.stringify(session));
    out += "]}";
  }
  write(out + "}\n");
}

/** Serialises a snapshot as one string. */
export function encodeSnapshot(s: SnapshotToSave): string {
  const parts: string[] = [];
  encodeSnapshotTo(s, (text) => parts.push(text));
  return parts.join("");
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

/** Writes the snapshot atomically, streaming it to the file rather than building it whole. */
export async function saveSnapshot(path: string, s: SnapshotToSave): Promise<void> {
  await writeFileAtomicFrom(path, (write) => encodeSnapshotTo(s, write));
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
