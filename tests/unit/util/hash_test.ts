import { assertEquals } from "../../support/assert.ts";
import { sha256Hex } from "../../../lib/util/hash.ts";

Deno.test("sha256Hex gives the known digests (FIPS 180-2 'abc', the empty input)", () => {
  assertEquals(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

Deno.test("sha256Hex hashes a string's UTF-8 bytes, and bytes as they are", () => {
  // Python: hashlib.sha256("MO§ES ✓".encode()).hexdigest()
  const text = "MO§ES ✓";
  const digest = "31eb6cd4639471c8c2f86b8d4973e892e25cd86cc9ec40c4405da3dcbfd6e263";
  assertEquals(sha256Hex(text), digest);
  assertEquals(sha256Hex(new TextEncoder().encode(text)), digest);
});

Deno.test("sha256Hex agrees with Web Crypto on inputs of many lengths", async () => {
  // Across SHA-256's 64-byte blocks and their padding boundary (55/56 bytes).
  for (const n of [1, 55, 56, 63, 64, 65, 1000, 4096]) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
    const web = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    const hex = Array.from(web, (b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals(sha256Hex(data), hex, `${n} bytes`);
  }
});
