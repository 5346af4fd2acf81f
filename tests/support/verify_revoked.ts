/**
 * Runs `verify --ledger LEDGER` through the CLI's `main`, with the read grant on LEDGER
 * revoked once the main thread has measured the ledger and before the workers start: the
 * threads then meet the permission error. Needs `--allow-read=<repository>,LEDGER` exactly
 * (a grant on a directory holding LEDGER would be revoked whole). Exits with main's code.
 * @module
 */
import { main } from "../../lib/cli/main.ts";
import { verifyTesting } from "../../lib/ledger/verify.ts";

const ledger = Deno.args[0]!;
verifyTesting.parallelMinBytes = 0;
verifyTesting.partBytes = 1024;
// Two threads, the load average or not.
verifyTesting.idleCores = () => 2;
verifyTesting.beforeWorkers = async () => {
  await Deno.permissions.revoke({ name: "read", path: ledger });
};
Deno.exit(await main(["verify", "--ledger", ledger]));
