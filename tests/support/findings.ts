/** Sequence findings for tests, from the fields a violation has. */
import { type SequenceFinding, sequenceFinding, type Violation } from "../../lib/rules/mod.ts";

/** A sequence finding seen at `at`. */
export function violationFinding(v: Violation & { at: number }): SequenceFinding {
  const { at, ...rest } = v;
  return sequenceFinding(rest, at);
}
