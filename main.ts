/**
 * moses-coordinator: watches an OpenClaw gateway for agents answering out of turn and
 * records each violation in the MO§ES audit ledger.
 * @module
 */
// The dispatcher itself, not lib/cli/mod.ts: the folder's face re-exports replay, log and
// report too, which load the service and the gateway: start-up time --help and verify need
// not pay. The dispatcher loads each command's module when it runs.
import { main } from "./lib/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
