/**
 * The local cluster's credentials, made once and kept in the state dir: a
 * private CA, a server certificate for 127.0.0.1/localhost signed by it, and
 * the admin token. openssl does the certificate work (it is on every host
 * this runs on, and `npm start` checks for it first).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

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

/** Create (first start) or load the CA, server certificate and admin token under `dir`. */
export async function ensurePki(dir: string): Promise<LocalPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
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
    await writeFile(tokenFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    created = true;
  }
  const token = (await readFile(tokenFile, "utf8")).trim();
  return { ...paths, token, created };
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
