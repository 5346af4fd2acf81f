/**
 * The coordinator's device identity for the OpenClaw gateway: an Ed25519 key pair made on
 * first run and kept (0600) in the coordinator's directory, so the gateway sees one
 * device across restarts, and the device token the gateway may issue to it.
 * The private key and the device token are secrets: nothing here logs them.
 * @module
 */
import { sha256Hex } from "../../util/mod.ts";
import { errorText, readTextIfExists, writeFileAtomic } from "../../util/mod.ts";

/** A loaded identity, ready to sign. */
export interface DeviceIdentity {
  /** Lower-case hex SHA-256 of the raw public key. */
  deviceId: string;
  /** The raw public key, base64url without padding. */
  publicKey: string;
  /** The Ed25519 private key (a secret, stored only in device.json). */
  privateKey: CryptoKey;
  /** A device token issued by the gateway, if any. */
  deviceToken: string | undefined;
}

interface StoredIdentity {
  format: 1;
  deviceId: string;
  publicKey: string;
  /** PKCS#8, base64url. */
  privateKey: string;
  deviceToken?: string;
}

/** Encodes bytes as base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes base64url (padding optional). */
export function fromBase64url(s: string): Uint8Array {
  const b64 = s.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Signs `text` (UTF-8) with the device key; returns base64url. */
export async function signText(identity: DeviceIdentity, text: string): Promise<string> {
  const sig = await crypto.subtle.sign(
    { name: "Ed25519" },
    identity.privateKey,
    new TextEncoder().encode(text),
  );
  return base64url(new Uint8Array(sig));
}

/** Where the identity lives and what happened when it was loaded. */
export interface LoadedIdentity {
  /** The identity, loaded or new. */
  identity: DeviceIdentity;
  /** A new identity was made (none was stored, or it was unreadable). */
  created: boolean;
  /** Set when a stored identity could not be read and was moved aside. */
  warning?: string;
}

/** Loads the identity at `path`, or makes and saves a new one. */
export async function loadOrCreateIdentity(path: string): Promise<LoadedIdentity> {
  const text = await readTextIfExists(path);
  let warning: string | undefined;
  if (text !== undefined) {
    try {
      return { identity: await decode(text), created: false };
    } catch (err) {
      const aside = `${path}.bad-${Date.now()}`;
      await Deno.rename(path, aside).catch(() => {});
      warning = `Cannot read device identity ${path}: ${errorText(err)}; moved aside to ${aside} ` +
        "and made a new one (the gateway will see a new device)";
    }
  }
  const fresh = await generateIdentity();
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", fresh.privateKey));
  const stored: StoredIdentity = {
    format: 1,
    deviceId: fresh.deviceId,
    publicKey: fresh.publicKey,
    privateKey: base64url(pkcs8),
  };
  await writeFileAtomic(path, JSON.stringify(stored, null, 2) + "\n");
  // Read back as it will be on the next run: the key in memory is then not extractable.
  return {
    identity: await decode(JSON.stringify(stored)),
    created: true,
    ...(warning ? { warning } : {}),
  };
}

async function decode(text: string): Promise<DeviceIdentity> {
  let s: Partial<StoredIdentity>;
  try {
    s = JSON.parse(text);
  } catch {
    // V8's message would quote the file, and the file holds the private key.
    throw new Error("not valid JSON");
  }
  if (typeof s !== "object" || s === null) throw new Error("not a format 1 device identity");
  if (s.format !== 1 || typeof s.publicKey !== "string" || typeof s.privateKey !== "string") {
    throw new Error("not a format 1 device identity");
  }
  const raw = fromBase64url(s.publicKey);
  if (raw.length !== 32) throw new Error("the public key is not 32 bytes");
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    fromBase64url(s.privateKey) as BufferSource,
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  const deviceId = sha256Hex(raw);
  if (s.deviceId !== undefined && s.deviceId !== deviceId) {
    throw new Error("the device id does not match the public key");
  }
  return {
    deviceId,
    publicKey: s.publicKey,
    privateKey,
    deviceToken: typeof s.deviceToken === "string" && s.deviceToken !== ""
      ? s.deviceToken
      : undefined,
  };
}

/** Stores (or, with undefined, forgets) the device token issued for this identity. */
export async function saveDeviceToken(path: string, token: string | undefined): Promise<void> {
  let s: StoredIdentity;
  try {
    s = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    // V8's parse message would quote the file, and the file holds the private key.
    throw new Error(
      err instanceof SyntaxError
        ? "the device identity file is not valid JSON"
        : (err as Error).message,
    );
  }
  if (token === undefined) delete s.deviceToken;
  else s.deviceToken = token;
  await writeFileAtomic(path, JSON.stringify(s, null, 2) + "\n");
}

/** Makes a new identity in memory (its key extractable, so that it can be saved). */
export async function generateIdentity(): Promise<DeviceIdentity> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    deviceId: sha256Hex(raw),
    publicKey: base64url(raw),
    privateKey: pair.privateKey,
    deviceToken: undefined,
  };
}
