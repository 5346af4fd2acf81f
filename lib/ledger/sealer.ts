/**
 * Sealing findings: any finding through its generic entry, and sequence findings through
 * the fast line builder, byte for byte the same.
 * @module
 */
import {
  type Finding,
  type GovernanceFields,
  isSequenceFinding,
  SEQUENCE_ACTION,
} from "../rules/mod.ts";
import { sealEntry, type Sealer } from "./append.ts";
import { findingEntry } from "./entries.ts";
import { sequenceSealer } from "./_violation_line.ts";

/** Returns a function giving each finding's {@link Sealer} under the governance fields `gov`. */
export function findingSealer(gov: GovernanceFields): (f: Finding) => Sealer {
  let fast: ((f: Finding) => Sealer) | undefined;
  return (f: Finding): Sealer => {
    if (f.outcome === "logged" && f.action === SEQUENCE_ACTION && isSequenceFinding(f)) {
      fast ??= sequenceSealer(gov) as (f: Finding) => Sealer;
      return fast(f);
    }
    const body = findingEntry(f, gov);
    return (previousHash) => sealEntry(body, previousHash);
  };
}
