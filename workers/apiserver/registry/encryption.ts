/**
 * Encryption at rest as kube-apiserver's EncryptionConfiguration `aesgcm`
 * provider does it: a stored value is `k8s:enc:aesgcm:v1:<keyname>:` followed
 * by a fresh 12-byte nonce and the AES-GCM ciphertext (tag included), with the
 * storage key as additional authenticated data so a value cannot be moved to
 * another key. The store holds strings, so nonce+ciphertext are base64 here
 * where kube writes raw bytes.
 *
 * Keys come from one Worker secret, `name:base64key,name2:base64key`: the
 * first encrypts, all decrypt (kube's rotation model). Values that do not
 * carry the prefix are read as plaintext (kube's identity fallback) and are
 * reported stale, as are values under a non-first key, so that the next
 * update rewrites them with the first key.
 */
import { ApiError } from "../../client/status.ts";

/** Turns values into their stored form and back, per storage key (kube's value.Transformer). */
export interface ValueTransformer {
  /** The stored form of `value` under storage key `key`. */
  toStorage(value: string, key: string): Promise<string>;
  /** The plaintext of a stored value; stale = not written with the current write key (rewrite it on update). */
  fromStorage(stored: string, key: string): Promise<{ value: string; stale: boolean }>;
}

const PREFIX = "k8s:enc:aesgcm:v1:";
const NONCE_BYTES = 12;
const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

interface NamedKey {
  name: string;
  key: Promise<CryptoKey>;
}

function fail(message: string): never {
  throw new ApiError("InternalError", message);
}

/** Parse `name:base64,...`; errors name the key, never its bytes. Empty/undefined = no keys (identity). */
function parseEncryptionKeys(spec: string | undefined): NamedKey[] {
  const keys: NamedKey[] = [];
  for (const entry of (spec ?? "").split(",").map((s) => s.trim())) {
    if (!entry) continue;
    const colon = entry.indexOf(":");
    const name = colon > 0 ? entry.slice(0, colon) : "";
    if (!KEY_NAME.test(name))
      fail(`encryption key #${keys.length + 1} has no valid name (want name:base64key)`);
    if (keys.some((k) => k.name === name)) fail(`encryption key "${name}" is configured twice`);
    let raw: Uint8Array;
    try {
      raw = Uint8Array.from(atob(entry.slice(colon + 1)), (c) => c.charCodeAt(0));
    } catch {
      fail(`encryption key "${name}" is not valid base64`);
    }
    if (![16, 24, 32].includes(raw.length)) fail(`encryption key "${name}" must be 16, 24 or 32 bytes`);
    keys.push({ name, key: crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]) });
  }
  return keys;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * The aesgcm transformer over `spec` (ENCRYPTION_KEYS). Without keys it
 * writes plaintext (kube's identity provider) and still refuses to pretend
 * an encrypted value is readable.
 */
export function aesgcmTransformer(spec: string | undefined): ValueTransformer {
  // Parsed on first use so a malformed secret answers a Status on the requests that need it.
  let parsed: NamedKey[] | undefined;
  const keys = () => {
    parsed ??= parseEncryptionKeys(spec);
    return parsed;
  };
  const encoder = new TextEncoder();
  return {
    async toStorage(value, key) {
      const write = keys()[0];
      if (!write) return value;
      const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: "AES-GCM", iv: nonce, additionalData: encoder.encode(key) },
          await write.key,
          encoder.encode(value),
        ),
      );
      const out = new Uint8Array(NONCE_BYTES + sealed.length);
      out.set(nonce);
      out.set(sealed, NONCE_BYTES);
      return `${PREFIX}${write.name}:${toBase64(out)}`;
    },
    async fromStorage(stored, key) {
      if (!stored.startsWith("k8s:enc:")) return { value: stored, stale: keys().length > 0 };
      if (!stored.startsWith(PREFIX)) fail(`${key}: stored with an unsupported encryption provider`);
      const rest = stored.slice(PREFIX.length);
      const colon = rest.indexOf(":");
      const name = colon > 0 ? rest.slice(0, colon) : "";
      const all = keys();
      const index = all.findIndex((k) => k.name === name);
      if (index < 0)
        fail(`${key}: encrypted with key "${name}", which is not among the configured encryption keys`);
      const bytes = fromBase64(rest.slice(colon + 1));
      let plain: ArrayBuffer;
      try {
        if (!bytes || bytes.length < NONCE_BYTES + 16) throw new Error("short");
        plain = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: bytes.subarray(0, NONCE_BYTES), additionalData: encoder.encode(key) },
          await all[index].key,
          bytes.subarray(NONCE_BYTES),
        );
      } catch {
        fail(`${key}: could not decrypt with encryption key "${name}" (wrong key or corrupted value)`);
      }
      return { value: new TextDecoder().decode(plain), stale: index !== 0 };
    },
  };
}
