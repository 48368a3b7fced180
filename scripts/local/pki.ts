/**
 * The local cluster's credentials, made once and kept in the state dir: a
 * private CA, a server certificate for 127.0.0.1/localhost signed by it, and
 * the admin token. openssl does the certificate work (it is on every host
 * this runs on, and `npm start` checks for it first).
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { privateDir, privateFile, restrictTree } from "./private.ts";

const run = promisify(execFile);

/** Paths and values of the local cluster's credentials. */
export interface LocalPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The admin bearer token (never printed). */
  token: string;
  /** Whether this call created them (first start). */
  created: boolean;
}

/** Create (first start) or load the CA, server certificate and admin token under `dir` (0700, files 0600). */
export async function ensurePki(dir: string): Promise<LocalPki> {
  await privateDir(dir);
  const paths = {
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
  };
  const tokenFile = join(dir, "admin-token");
  let created = false;
  if (!existsSync(paths.caCert) || !existsSync(paths.caKey)) {
    await makeCa(paths.caCert, paths.caKey);
    created = true;
  }
  if (created || !existsSync(paths.serverCert) || !existsSync(paths.serverKey)) {
    await makeServerCert(dir, paths);
    created = true;
  }
  if (!existsSync(tokenFile)) {
    await privateFile(tokenFile, `${randomBytes(32).toString("hex")}\n`);
    created = true;
  }
  // openssl creates its files under the umask: make them, and anything left from older starts, owner-only.
  await restrictTree(dir);
  const token = (await readFile(tokenFile, "utf8")).trim();
  return { ...paths, token, created };
}

/**
 * The encryption-at-rest keys (the Worker's ENCRYPTION_KEYS secret) kept in
 * `file` (0600): `name:base64key,...`, first encrypts, all decrypt. Made on
 * first start with one random 32-byte AES-GCM key; to rotate, put a new key
 * first and keep the old one after it (docs/deploy.md).
 */
export async function ensureEncryptionKeys(file: string): Promise<string> {
  if (!existsSync(file)) {
    const name = `key-${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`;
    await privateFile(file, `${name}:${randomBytes(32).toString("base64")}\n`);
  }
  await chmod(file, 0o600);
  const keys = (await readFile(file, "utf8")).trim();
  if (!/^[A-Za-z0-9_.-]+:[A-Za-z0-9+/=]+(,[A-Za-z0-9_.-]+:[A-Za-z0-9+/=]+)*$/.test(keys))
    throw new Error(`${file}: expected name:base64key[,name:base64key...]`);
  return keys;
}

/**
 * The ServiceAccount/user token signing key (the Worker's SERVICE_ACCOUNT_SIGNING_KEY
 * secret) kept in `file` (0600): an EC P-256 PKCS#8 PEM, made on first start. To
 * rotate, put a new private key first and keep the old one after it until the tokens
 * it signed have expired (docs/deploy.md).
 */
export async function ensureSigningKey(file: string): Promise<string> {
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await privateFile(file, privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  }
  await chmod(file, 0o600);
  const pem = await readFile(file, "utf8");
  if (!pem.includes("PRIVATE KEY")) throw new Error(`${file}: expected a PKCS#8 private key (PEM)`);
  return pem;
}

async function makeCa(cert: string, key: string): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "3650",
    "-subj",
    "/CN=edgeplane-local-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function makeServerCert(
  dir: string,
  p: { caCert: string; caKey: string; serverCert: string; serverKey: string },
): Promise<void> {
  const csr = join(dir, "server.csr");
  const ext = join(dir, "server.ext");
  await writeFile(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
      "",
    ].join("\n"),
  );
  await run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    p.serverKey,
    "-out",
    csr,
    "-subj",
    "/CN=localhost",
  ]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    p.caCert,
    "-CAkey",
    p.caKey,
    "-CAcreateserial",
    "-out",
    p.serverCert,
    "-days",
    "825",
    "-extfile",
    ext,
  ]);
}
