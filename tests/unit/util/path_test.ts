import { assertEquals } from "../../support/assert.ts";
import { posix } from "node:path";
import { dirname, isAbsolute, join, normalizePosix, resolve } from "../../../lib/util/path.ts";
import { rng } from "../../support/rng.ts";

// On Windows these are node:path's own Windows functions, which differ from POSIX's.
const ignore = Deno.build.os === "windows";

// Paths built from the pieces that make path handling hard: separators, repeated or at
// either end, `.` and `..`, names that only look like them.
function paths(seed: number, count: number): string[] {
  const next = rng(seed);
  const pieces = ["/", "//", ".", "..", "a", "bc", "...", ".a", "a.", "", "x/", "/y"];
  const out = ["", "/", "//", "///", ".", "..", "./", "../", "/..", "a/..", "a/../..", "/a/../.."];
  for (let i = 0; i < count; i++) {
    let p = "";
    const n = Math.floor(next() * 7);
    for (let k = 0; k < n; k++) p += pieces[Math.floor(next() * pieces.length)];
    out.push(p);
  }
  return out;
}

Deno.test("normalize, dirname and isAbsolute give node:path's answers on 5,000 tricky paths", {
  ignore,
}, () => {
  for (const p of paths(1, 5000)) {
    assertEquals(normalizePosix(p), posix.normalize(p), `normalize ${JSON.stringify(p)}`);
    assertEquals(dirname(p), posix.dirname(p), `dirname ${JSON.stringify(p)}`);
    assertEquals(isAbsolute(p), posix.isAbsolute(p), `isAbsolute ${JSON.stringify(p)}`);
  }
});

Deno.test(
  "join gives node:path's answer for two and three parts, empty parts included",
  { ignore },
  () => {
    const ps = paths(2, 600);
    for (let i = 0; i + 2 < ps.length; i++) {
      const [a, b, c] = [ps[i]!, ps[i + 1]!, ps[i + 2]!];
      assertEquals(join(a, b), posix.join(a, b), `join ${JSON.stringify([a, b])}`);
      assertEquals(join(a, b, c), posix.join(a, b, c), `join ${JSON.stringify([a, b, c])}`);
    }
    assertEquals(join(), posix.join());
    assertEquals(join("", ""), ".");
  },
);

Deno.test("resolve makes a path absolute against the working directory as node:path does", {
  ignore,
}, () => {
  for (const p of paths(3, 1000)) {
    assertEquals(resolve(p), posix.resolve(p), `resolve ${JSON.stringify(p)}`);
  }
});
