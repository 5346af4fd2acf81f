import { assert, assertEquals, assertStringIncludes } from "../../../support/assert.ts";
import {
  fromBase64url,
  loadOrCreateIdentity,
  saveDeviceToken,
  signText,
} from "../../../../lib/gateway/openclaw/device_identity.ts";
import { tempDir } from "../../../support/helpers.ts";

Deno.test("the first run makes a 0600 identity whose id is the SHA-256 of the public key", async () => {
  await using dir = await tempDir();
  const path = dir.join("device.json");
  const { identity, created } = await loadOrCreateIdentity(path);
  assert(created);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  const raw = fromBase64url(identity.publicKey);
  assertEquals(raw.length, 32);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw as BufferSource));
  assertEquals(identity.deviceId, [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
});

Deno.test("later runs load the same device, and its signatures verify with its public key", async () => {
  await using dir = await tempDir();
  const path = dir.join("device.json");
  const first = (await loadOrCreateIdentity(path)).identity;
  const again = await loadOrCreateIdentity(path);
  assertEquals([again.created, again.identity.deviceId], [false, first.deviceId]);
  const sig = await signText(again.identity, "v3|payload");
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64url(first.publicKey) as BufferSource,
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  assert(
    await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      fromBase64url(sig) as BufferSource,
      new TextEncoder().encode("v3|payload"),
    ),
  );
});

Deno.test("a device token is kept with the identity and can be forgotten", async () => {
  await using dir = await tempDir();
  const path = dir.join("device.json");
  await loadOrCreateIdentity(path);
  await saveDeviceToken(path, "issued-token");
  assertEquals((await loadOrCreateIdentity(path)).identity.deviceToken, "issued-token");
  await saveDeviceToken(path, undefined);
  assertEquals((await loadOrCreateIdentity(path)).identity.deviceToken, undefined);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
});

Deno.test("an unreadable identity is moved aside and replaced, with a warning", async () => {
  await using dir = await tempDir();
  const path = dir.join("device.json");
  await Deno.writeTextFile(path, '{ "privateKey": "MC4CAQAwBQYDK2VwBCIEI-secret-part');
  const r = await loadOrCreateIdentity(path);
  assert(r.created);
  assertStringIncludes(r.warning!, "moved aside");
  assertEquals(r.warning!.includes("secret-part"), false, "the warning quotes the key file");
  const aside = [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) =>
    n.startsWith("device.json.bad-")
  );
  assertEquals(aside.length, 1);
});
