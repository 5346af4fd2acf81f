/**
 * A ledger writer for the kill tests: appends groups of entries to the ledger at Deno.args[0]
 * for ever, and prints each line's hash on stdout once its group is durable (the
 * acknowledgement a writer gives). Killed from outside.
 */
import { appendEntries } from "../../lib/ledger/append.ts";

const path = Deno.args[0]!;
const name = Deno.args[1] ?? "w";
const out = Deno.stdout.writable.getWriter();
const enc = new TextEncoder();
for (let i = 0;; i++) {
  // Groups of 1 to 64 lines with a padded detail, so writes are of many sizes.
  const n = 1 + (i * 37) % 64;
  const bodies = Array.from({ length: n }, (_, k) => ({
    agent: "coordinator",
    action: "stream_test",
    detail: `${name}-${i}-${k}-${"x".repeat((i * 131 + k * 17) % 3000)}`,
  }));
  // As the daemon's writer does, a torn last line left by the writer killed before is cut
  // (and recorded) first: a kill can land inside a write.
  const { hashes } = await appendEntries(path, bodies, {
    recover: (cut) => ({ action: "ledger_recovered", detail: "cut", recovery: { ...cut } }),
  });
  await out.write(enc.encode(hashes.join("\n") + "\n"));
}
