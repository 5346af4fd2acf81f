/**
 * moses-coordinator: watches an OpenClaw gateway for agents answering out of turn and
 * records each violation in the MO§ES audit ledger.
 * @module
 */
import { main } from "./lib/cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
