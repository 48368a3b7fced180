/**
 * The local cluster's credentials, made once and kept in the state dir: a
 * private CA, a server certificate for 127.0.0.1/localhost signed by it, the
 * certificate the nodes' API proxies present for the `kubernetes` Service,
 * and the admin token. openssl does the certificate work (it is on every host
 * this runs on, and `npm start` checks for it first).
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
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

/**
 * Create (first start) or load the CA, server certificate and admin token under `dir` (0700, files 0600). The
 * server certificate names 127.0.0.1, ::1, localhost and `ips` (e.g. the host's address on the local node
 * network); one that lacks any of `ips` is issued again by the same CA, so existing kubeconfigs still trust it.
 */
export async function ensurePki(dir: string, ips: string[] = []): Promise<LocalPki> {
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
  const noServerCert = created || !existsSync(paths.serverCert) || !existsSync(paths.serverKey);
  if (noServerCert || !namesAll(paths.serverCert, ips)) {
    await makeServerCert(dir, paths, ips);
    created ||= noServerCert;
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

/** Whether the certificate at `file` has every one of `ips` among its subjectAltName IPs. */
function namesAll(file: string, ips: string[]): boolean {
  const san = new X509Certificate(readFileSync(file)).subjectAltName ?? "";
  const names = new Set(
    san
      .split(", ")
      .filter((n) => n.startsWith("IP Address:"))
      .map((n) => n.slice(11)),
  );
  return ips.every((ip) => names.has(ip));
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

/** The names in-cluster clients reach the API by (kube-apiserver's service SANs), for the agents' API proxy. */
export function apiProxyNames(clusterDomain = "cluster.local", serviceIP = "10.96.0.1"): string[] {
  return [
    `IP:${serviceIP}`,
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    `DNS:kubernetes.default.svc.${clusterDomain}`,
  ];
}

/**
 * The certificate every local node's API proxy presents (node-agent --api-proxy-cert/--api-proxy-key): signed by
 * the local CA for the `kubernetes` Service's names and IP, so pods verify it with the cluster CA as they would
 * kube-apiserver's. Made once, in `dir` next to the CA.
 */
export async function ensureApiProxyCert(
  dir: string,
  pki: Pick<LocalPki, "caCert" | "caKey">,
): Promise<{ cert: string; key: string }> {
  const paths = { cert: join(dir, "api-proxy.crt"), key: join(dir, "api-proxy.key") };
  if (!existsSync(paths.cert) || !existsSync(paths.key)) {
    await signLeaf(dir, "api-proxy", "kubernetes", apiProxyNames(), {
      caCert: pki.caCert,
      caKey: pki.caKey,
      cert: paths.cert,
      key: paths.key,
    });
    await restrictTree(dir);
  }
  return paths;
}

async function makeServerCert(
  dir: string,
  p: { caCert: string; caKey: string; serverCert: string; serverKey: string },
  ips: string[],
): Promise<void> {
  const sans = ["IP:127.0.0.1", "IP:::1", "DNS:localhost", ...ips.map((ip) => `IP:${ip}`)];
  await signLeaf(dir, "server", "localhost", sans, {
    caCert: p.caCert,
    caKey: p.caKey,
    cert: p.serverCert,
    key: p.serverKey,
  });
}

/** A P-256 serving certificate for `sans`, signed by the CA (825 days, the most clients accept). */
export async function signLeaf(
  dir: string,
  stem: string,
  cn: string,
  sans: string[],
  p: { caCert: string; caKey: string; cert: string; key: string },
): Promise<void> {
  const csr = join(dir, `${stem}.csr`);
  const ext = join(dir, `${stem}.ext`);
  await writeFile(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${sans.join(",")}`,
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
    p.key,
    "-out",
    csr,
    "-subj",
    `/CN=${cn}`,
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
    p.cert,
    "-days",
    "825",
    "-extfile",
    ext,
  ]);
}
