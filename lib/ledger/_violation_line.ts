/**
 * A sequence finding's ledger line built straight from its fields: the same bytes and hash
 * as `sealEntry(findingEntry(f, gov), previousHash)` without building the entry object,
 * sorting its keys and walking it twice. The writer seals one line per finding, and
 * sequence findings come in floods, so this is its hot path. Pure.
 * @module
 */
import { canonicalJson, pythonDumps } from "./pyjson.ts";
import { sha256Hex } from "../util/mod.ts";
import type { SealedLine, Sealer } from "./append.ts";
import type { GovernanceFields, SequenceFinding } from "../rules/mod.ts";
import { COMPONENT, isoTimestamp } from "./entries.ts";

// A str is hashed in its canonical form (JSON's escapes only) and written as Python's
// json.dumps writes it (non-ASCII escaped too): the same text for printable ASCII.
function hasNonAscii(json: string): boolean {
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return true;
  }
  return false;
}

function forms(s: string): [canonical: string, python: string] {
  const json = JSON.stringify(s);
  return [json, hasNonAscii(json) ? pythonDumps(s) : json];
}

/**
 * Returns a function giving the {@link Sealer} of a sequence finding under the governance
 * fields `gov`: the same bytes as `sealEntry(findingEntry(f, gov), previousHash)`. Only for
 * findings that `isSequenceFinding` accepts, with action `sequence_violation` and outcome
 * `logged` (the strings it builds in).
 */
export function sequenceSealer(gov: GovernanceFields): (f: SequenceFinding) => Sealer {
  // The governance fields are the same for every line of a group: serialise them once.
  const c = (x: unknown) => canonicalJson(x ?? null);
  const p = (x: unknown) => pythonDumps(x ?? null);
  const cHead = `{"action":${JSON.stringify("sequence_violation")},"agent":${
    JSON.stringify("coordinator")
  },"component":${JSON.stringify(COMPONENT)},"detail":`;
  const cMid = `,"mode":${c(gov.mode)},"outcome":${JSON.stringify("logged")},"posture":${
    c(gov.posture)
  },"previous_hash":`;
  const cGov = `,"role":${c(gov.role)},"session_hash":${c(gov.session_hash)},"timestamp":`;
  const pAfterTimestamp = `, "agent": ${pythonDumps("coordinator")}, "component": ${
    pythonDumps(COMPONENT)
  }, "action": ${pythonDumps("sequence_violation")}, "detail": `;
  const pGov = `, "outcome": ${pythonDumps("logged")}, "mode": ${p(gov.mode)}, "posture": ${
    p(gov.posture)
  }, "role": ${p(gov.role)}, "session_hash": ${p(gov.session_hash)}, "previous_hash": `;

  // Most violations share their sequence (the configured one): its forms are kept.
  let lastSequence: readonly string[] | undefined;
  let sequenceForms: [string, string] = ["", ""];

  return (f: SequenceFinding): Sealer => {
    const v = f.data;
    if (v.sequence !== lastSequence) {
      const each = v.sequence.map(forms);
      sequenceForms = [
        "[" + each.map((f) => f[0]).join(",") + "]",
        "[" + each.map((f) => f[1]).join(", ") + "]",
      ];
      lastSequence = v.sequence;
    }
    const [cTimestamp, pTimestamp] = forms(isoTimestamp(f.at));
    const [cDetail, pDetail] = forms(f.detail);
    const [cId, pId] = forms(v.id);
    const [cConversation, pConversation] = forms(v.conversation);
    const [cAgent, pAgent] = forms(v.agent);
    const [cRole, pRole] = forms(v.role);
    const [cExpected, pExpected] = forms(v.expected);
    const [cProtocol, pProtocol] = forms(v.protocol);
    const cTail =
      `,"violation":{"agent":${cAgent},"conversation":${cConversation},"expected":${cExpected},` +
      `"id":${cId},"protocol":${cProtocol},"role":${cRole},"sequence":${sequenceForms[0]}}}`;
    const pViolation =
      `, "violation": {"id": ${pId}, "conversation": ${pConversation}, "agent": ${pAgent}, ` +
      `"role": ${pRole}, "expected": ${pExpected}, "sequence": ${sequenceForms[1]}, ` +
      `"protocol": ${pProtocol}}, "hash": `;
    return (previousHash: string): SealedLine => {
      const [cPrevious, pPrevious] = forms(previousHash);
      const hash = sha256Hex(cHead + cDetail + cMid + cPrevious + cGov + cTimestamp + cTail);
      // The hash is hex: nothing to escape.
      const line = `{"timestamp": ${pTimestamp}${pAfterTimestamp}${pDetail}${pGov}${pPrevious}` +
        `${pViolation}"${hash}"}\n`;
      return { hash, line };
    };
  };
}
