/**
 * The local state dir is owner-only whatever the umask: the credentials
 * `npm start` makes (CA and server keys, admin token, bootstrap token,
 * encryption keys) and the persisted state are 0600 files in 0700 dirs,
 * also when an older start left them wider.
 */
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { parseTokenKeys } from "../../workers/apiserver/serviceaccount/keys.ts";
import { ensureEncryptionKeys, ensurePki, ensureSigningKey } from "./pki.ts";
import { privateDir, restrictTree } from "./private.ts";

let dir: string;
let umask: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeplane-private-"));
  umask = process.umask(0o000);
});
afterEach(async () => {
  process.umask(umask);
  await rm(dir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

it("makes the CA, server key, admin token and encryption keys 0600 in a 0700 dir under umask 000", async () => {
  const pki = join(dir, "pki");
  const made = await ensurePki(pki);
  const keys = await ensureEncryptionKeys(join(pki, "encryption-keys"));
  expect(await mode(pki)).toBe(0o700);
  for (const file of [made.caKey, made.caCert, made.serverKey, made.serverCert, join(pki, "admin-token")])
    expect([file, await mode(file)]).toEqual([file, 0o600]);
  expect(await mode(join(pki, "encryption-keys"))).toBe(0o600);
  const [name, key] = keys.split(":");
  expect(name).toMatch(/^key-\d{8}$/);
  expect(Buffer.from(key, "base64")).toHaveLength(32);
  // Stable across starts: the same keys come back.
  expect(await ensureEncryptionKeys(join(pki, "encryption-keys"))).toBe(keys);
});

it("makes the token signing key once, 0600, as a key the API server can sign with", async () => {
  const pki = join(dir, "pki");
  await privateDir(pki);
  const pem = await ensureSigningKey(join(pki, "service-account.key"));
  expect(await mode(join(pki, "service-account.key"))).toBe(0o600);
  expect(await ensureSigningKey(join(pki, "service-account.key"))).toBe(pem);
  const [key] = await parseTokenKeys(pem);
  expect([key.alg, Boolean(key.privateKey)]).toEqual(["ES256", true]);
});

it("narrows what an older start (or a permissive umask) left readable", async () => {
  const state = join(dir, "state", "do", "edgeplane-StoreObject");
  await mkdir(state, { recursive: true, mode: 0o755 });
  await writeFile(join(state, "shard.sqlite"), "x", { mode: 0o644 });
  await chmod(join(dir, "state"), 0o755);
  await privateDir(join(dir, "state"));
  await restrictTree(join(dir, "state"));
  expect(await mode(join(dir, "state"))).toBe(0o700);
  expect(await mode(state)).toBe(0o700);
  expect(await mode(join(state, "shard.sqlite"))).toBe(0o600);
  const pki = join(dir, "pki");
  await mkdir(pki, { mode: 0o755 });
  await writeFile(join(pki, "admin-token"), `${"a".repeat(64)}\n`, { mode: 0o644 });
  await writeFile(join(pki, "encryption-keys"), `old:${Buffer.alloc(32).toString("base64")}\n`, {
    mode: 0o644,
  });
  await ensurePki(pki);
  await ensureEncryptionKeys(join(pki, "encryption-keys"));
  expect(await mode(pki)).toBe(0o700);
  expect(await mode(join(pki, "admin-token"))).toBe(0o600);
  expect(await mode(join(pki, "encryption-keys"))).toBe(0o600);
});
