/**
 * Where the coordinator's files live, relative to the OpenClaw state directory.
 * Paths stay relative when the state directory is, so that they bind to the working
 * directory exactly as relative permission grants do.
 * @module
 */
import { isAbsolute, join } from "./path.ts";

/** Every path the coordinator reads or writes. */
export interface Paths {
  /** The OpenClaw state directory everything is under. */
  stateDir: string;
  /** The ledger (default `audits/moses/audit_ledger.jsonl`). */
  ledger: string;
  /** The coordinator's own directory (status, snapshot). */
  own: string;
  /** The status file the daemon keeps up to date. */
  status: string;
  /** The state snapshot. */
  snapshot: string;
  /** MO§ES's governance state (`governance/state.json`). */
  governanceState: string;
  /** The coordinator's config (`governance/coordinator.jsonc`). */
  config: string;
  /** The coordinator's device identity for the OpenClaw gateway (a secret). */
  device: string;
  /** OpenClaw's own config, read for the gateway token. */
  openclawConfig: string;
  /** Held (flock) by the running daemon: one per state directory. */
  lock: string;
}

/**
 * Resolves the coordinator's paths under `stateDir`; `ledger` overrides the ledger path
 * (relative to the state directory, like every other path).
 */
export function resolvePaths(stateDir: string, ledger?: string): Paths {
  const moses = join(stateDir, "audits", "moses");
  const own = join(moses, "coordinator");
  return {
    stateDir,
    ledger: ledger === undefined
      ? join(moses, "audit_ledger.jsonl")
      : isAbsolute(ledger)
      ? ledger
      : join(stateDir, ledger),
    own,
    status: join(own, "status.json"),
    snapshot: join(own, "snapshot.json"),
    governanceState: join(stateDir, "governance", "state.json"),
    config: join(stateDir, "governance", "coordinator.jsonc"),
    device: join(own, "device.json"),
    openclawConfig: join(stateDir, "openclaw.json"),
    lock: join(own, "daemon.lock"),
  };
}
