import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { parseGovernance, readGovernance } from "../../../lib/service/governance.ts";
import { DEFAULT_GOVERNANCE } from "../../../lib/rules/governance.ts";
import { tempDir } from "../../support/helpers.ts";

Deno.test("a missing state.json gives MO§ES's defaults and enforcement on", async () => {
  await using dir = await tempDir();
  const r = await readGovernance(dir.join("state.json"));
  assertEquals(r.found, false);
  assertEquals(r.governance.fields, {
    mode: "high-integrity",
    posture: "defense",
    role: "primary",
    session_hash: null,
  });
  assertEquals(r.governance.broadcast, false);
});

Deno.test("mode, posture, role and session_hash are copied from state.json", () => {
  const g = parseGovernance(
    '{"mode": "research", "posture": "scout", "role": "secondary", "session_hash": "ab12", "vault": []}',
    "s",
  );
  assertEquals(g.fields, {
    mode: "research",
    posture: "scout",
    role: "secondary",
    session_hash: "ab12",
  });
  assertEquals(g.broadcast, false);
});

Deno.test("broadcast role switches enforcement off and says why", () => {
  const g = parseGovernance('{"role": "broadcast"}', "governance/state.json");
  assertEquals(g.broadcast, true);
  assertStringIncludes(g.reason!, "broadcast mode is active");
});

Deno.test("a malformed state.json keeps the last good state and reports the position", async () => {
  await using dir = await tempDir();
  const path = dir.join("state.json");
  await Deno.writeTextFile(path, '{"role": "broadcast"}');
  const good = await readGovernance(path);
  await Deno.writeTextFile(path, '{"role": "broadcast",,}');
  const bad = await readGovernance(path, good.governance);
  assertEquals(bad.governance, good.governance);
  assertEquals(
    bad.error,
    `Cannot read ${path}: Expecting property name enclosed in double quotes at line 1 column 22`,
  );
  await Deno.writeTextFile(path, "[1, 2]");
  const wrong = await readGovernance(path);
  assertEquals(wrong.governance, DEFAULT_GOVERNANCE);
  assertStringIncludes(wrong.error!, "must hold a JSON object");
});

Deno.test("a malformed state.json's error gives the position without quoting the file", () => {
  let message = "";
  try {
    parseGovernance('{"vault": ["sk-live-SECRET-VALUE"], oops}', "state.json");
  } catch (err) {
    message = (err as Error).message;
  }
  assertEquals(
    message,
    "Cannot read state.json: Expecting property name enclosed in double quotes at line 1 column 37",
  );
  assertEquals(message.includes("SECRET"), false);
});

Deno.test("a state.json that is a symbolic link is not followed: the last good state stays, with the reason", async () => {
  await using dir = await tempDir();
  const path = dir.join("state.json");
  await Deno.writeTextFile(path, JSON.stringify({ role: "broadcast" }));
  const good = await readGovernance(path);
  assertEquals(good.governance.broadcast, true);
  const other = dir.join("other.json");
  await Deno.writeTextFile(other, JSON.stringify({ role: "primary" }));
  await Deno.remove(path);
  await Deno.symlink(other, path);
  const read = await readGovernance(path, good.governance);
  assertEquals(read.governance, good.governance);
  assertEquals(
    read.error,
    `Cannot read ${path}: it is a symbolic link; put the file itself there`,
  );
});
