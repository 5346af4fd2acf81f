/**
 * MO§ES governance state (`governance/state.json`), read only: the fields copied into
 * every ledger entry, and whether broadcast mode switches the sequence rule off. The types
 * live in rules (an input every rule reads); reading and parsing the file is here.
 * @module
 */
import { DEFAULT_GOVERNANCE, type Governance, type GovernanceFields } from "../rules/mod.ts";
import { errorText, readRegularTextIfExists } from "../util/mod.ts";
import { parsePythonJson, PyJsonSyntaxError } from "../ledger/mod.ts";

/** Interprets the text of state.json; throws with the position on malformed JSON. */
export function parseGovernance(text: string, source: string): Governance {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // V8's message quotes the text around the error, and state.json holds a vault: say
    // only where the error is.
    throw new Error(`Cannot read ${source}: ${syntaxErrorPosition(text)}`);
  }
  return governanceOf(raw, source);
}

/** Interprets state.json's parsed content; throws when it is not an object. */
export function governanceOf(raw: unknown, source: string): Governance {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`Cannot read ${source}: the file must hold a JSON object`);
  }
  const s = raw as Record<string, unknown>;
  const d = DEFAULT_GOVERNANCE.fields;
  const fields: GovernanceFields = {
    mode: s.mode ?? d.mode,
    posture: s.posture ?? d.posture,
    role: s.role ?? d.role,
    session_hash: s.session_hash ?? null,
  };
  if (typeof fields.role === "string" && fields.role.trim().toLowerCase() === "broadcast") {
    return {
      fields,
      broadcast: true,
      reason: `broadcast mode is active (role "broadcast" in ${source}): the order is not enforced`,
    };
  }
  return { fields, broadcast: false };
}

/** The result of reading state.json: the governance in force, and an error if the file was bad. */
export interface GovernanceRead {
  /** The governance in force (the defaults when the file is missing or bad). */
  governance: Governance;
  /** Whether state.json was there and read. */
  found: boolean;
  /** Why the file could not be read or used. */
  error?: string;
}

/**
 * Reads state.json. A missing file gives MO§ES's defaults; a bad one gives `fallback`
 * (the last good state, or the defaults) together with the error.
 */
export async function readGovernance(
  path: string,
  fallback: Governance = DEFAULT_GOVERNANCE,
): Promise<GovernanceRead> {
  let text: string | undefined;
  try {
    text = await readRegularTextIfExists(path);
  } catch (err) {
    return { governance: fallback, found: false, error: `Cannot read ${path}: ${errorText(err)}` };
  }
  if (text === undefined) return { governance: DEFAULT_GOVERNANCE, found: false };
  try {
    return { governance: parseGovernance(text, path), found: true };
  } catch (err) {
    return { governance: fallback, found: true, error: errorText(err) };
  }
}

/** Describes where `text` stops being JSON, by line and column, without quoting it. */
export function syntaxErrorPosition(text: string): string {
  try {
    parsePythonJson(text);
  } catch (err) {
    if (err instanceof PyJsonSyntaxError) {
      const before = text.slice(0, err.position);
      const line = before.split("\n").length;
      const column = err.position - before.lastIndexOf("\n");
      return `${err.message.replace(/ at position \d+$/, "")} at line ${line} column ${column}`;
    }
  }
  return "invalid JSON";
}
