/**
 * Hashes two lines through verify's {@link HashHelper}, one with its right hash and one
 * with a wrong one, and prints where the batch was hashed and what was found, as JSON.
 * Run under the coordinator's own permission set: its worker must start there too.
 * @module
 */
import { HashHelper } from "../../lib/ledger/_hash_helper.ts";
import { sha256Hex } from "../../lib/util/hash.ts";

const enc = new TextEncoder();
const found: [number, string, string][] = [];
const helper = new HashHelper((line, stated, computed) => found.push([line, stated, computed]), {
  steal: false,
});
try {
  const good = enc.encode("good");
  helper.add(1, good, enc.encode(sha256Hex(good)), 0, 64);
  const wrong = enc.encode("x".repeat(64));
  helper.add(2, enc.encode("bad"), wrong, 0, 64);
  await helper.drain();
} finally {
  helper.close();
}
console.log(JSON.stringify({ batches: helper.batches, found }));
