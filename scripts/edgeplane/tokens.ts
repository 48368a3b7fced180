/**
 * `edgeplane token create|list|delete`: node join tokens, as kubeadm's
 * `kubeadm token`. A join token is a bootstrap token (Secret
 * bootstrap-token-<id> in kube-system) bound to one node by "node-name":
 * it authenticates as system:node:<name> (workers/apiserver/tokens.ts).
 * Tokens expire (default 24h); "--ttl 0" makes one that never does.
 */
import { createHash, randomInt, X509Certificate } from "node:crypto";
import type { ClusterFetch } from "../lib/client.ts";

const NAMESPACE = "kube-system";
const TYPE = "bootstrap.kubernetes.io/token";
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A join token as listed (never its secret). */
export interface JoinToken {
  id: string;
  node: string;
  /** RFC 3339, or undefined for a token that never expires. */
  expiration?: string;
  description?: string;
}

interface SecretJson {
  metadata: { name: string };
  type?: string;
  data?: Record<string, string>;
}

/** "24h", "90m", "30s", "2h30m" or "0" → milliseconds (kubeadm's --ttl, a Go duration). */
export function parseTtl(ttl: string): number {
  if (ttl === "0") return 0;
  const parts = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(ttl);
  if (!parts || !ttl) throw new Error(`bad --ttl ${ttl} (want e.g. 24h, 90m, 2h30m, or 0 for never)`);
  return ((Number(parts[1] ?? 0) * 60 + Number(parts[2] ?? 0)) * 60 + Number(parts[3] ?? 0)) * 1000;
}

function random(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

async function check(response: Response, what: string): Promise<Response> {
  if (response.ok) return response;
  const text = await response.text();
  let message = text;
  try {
    message = JSON.parse(text).message ?? text;
  } catch {}
  throw new Error(`${what}: ${response.status} ${message}`);
}

/** Create a join token for `node`, valid `ttlMs` from `now` (0: forever); returns "id.secret" and its row. */
export async function createJoinToken(
  fetcher: ClusterFetch,
  options: { node: string; ttlMs: number; description?: string; now?: Date },
): Promise<{ token: string; row: JoinToken }> {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(options.node))
    throw new Error(`bad node name ${options.node} (a lowercase DNS subdomain)`);
  const id = random(6);
  const secret = random(16);
  const now = options.now ?? new Date();
  const expiration =
    options.ttlMs > 0
      ? new Date(now.getTime() + options.ttlMs).toISOString().replace(/\.\d+Z$/, "Z")
      : undefined;
  const description = options.description ?? `join token for node ${options.node} (edgeplane token create)`;
  const stringData: Record<string, string> = {
    "token-id": id,
    "token-secret": secret,
    "usage-bootstrap-authentication": "true",
    "node-name": options.node,
    description,
  };
  if (expiration) stringData.expiration = expiration;
  await check(
    await fetcher(`/api/v1/namespaces/${NAMESPACE}/secrets`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: `bootstrap-token-${id}`, namespace: NAMESPACE },
        type: TYPE,
        stringData,
      }),
    }),
    "creating the token",
  );
  return { token: `${id}.${secret}`, row: { id, node: options.node, expiration, description } };
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

/** Every join (bootstrap) token, without secrets. */
export async function listJoinTokens(fetcher: ClusterFetch): Promise<JoinToken[]> {
  const response = await check(await fetcher(`/api/v1/namespaces/${NAMESPACE}/secrets`), "listing tokens");
  const list = (await response.json()) as { items: SecretJson[] };
  return list.items
    .filter((s) => s.type === TYPE)
    .map((s) => ({
      id: decode(s.data?.["token-id"]) ?? s.metadata.name.replace(/^bootstrap-token-/, ""),
      node: decode(s.data?.["node-name"]) ?? "",
      expiration: decode(s.data?.expiration),
      description: decode(s.data?.description),
    }));
}

/** Delete the token `idOrToken` ("id" or "id.secret", as kubeadm accepts); false when there was none. */
export async function deleteJoinToken(fetcher: ClusterFetch, idOrToken: string): Promise<boolean> {
  const id = idOrToken.split(".")[0];
  if (!/^[a-z0-9]{6}$/.test(id)) throw new Error(`bad token id ${idOrToken} (6 characters of [a-z0-9])`);
  const response = await fetcher(`/api/v1/namespaces/${NAMESPACE}/secrets/bootstrap-token-${id}`, {
    method: "DELETE",
  });
  if (response.status === 404) return false;
  await check(response, `deleting token ${id}`);
  return true;
}

/** kubectl-style table of tokens: TOKEN ID, NODE, TTL, EXPIRES, DESCRIPTION. */
export function formatTokens(rows: JoinToken[], now = new Date()): string {
  const ttl = (expiration?: string) => {
    if (!expiration) return "<forever>";
    const left = Date.parse(expiration) - now.getTime();
    if (Number.isNaN(left)) return "<invalid>";
    if (left <= 0) return "<expired>";
    const h = Math.floor(left / 3_600_000);
    return h > 0 ? `${h}h` : `${Math.ceil(left / 60_000)}m`;
  };
  const table = [
    ["TOKEN ID", "NODE", "TTL", "EXPIRES", "DESCRIPTION"],
    ...rows.map((r) => [
      r.id,
      r.node || "<none>",
      ttl(r.expiration),
      r.expiration ?? "<never>",
      r.description ?? "",
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return table
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join("   ")
        .trimEnd(),
    )
    .join("\n");
}

/** "sha256:<hex>" of the SubjectPublicKeyInfo of the first CA certificate in `pem` (kubeadm's CA pin; join.sh checks the same). */
export function caHash(pem: string): string {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  const ca = blocks.map((b) => new X509Certificate(b)).find((c) => c.ca);
  if (!ca) throw new Error("the kubeconfig's certificate-authority-data holds no CA certificate");
  const spki = ca.publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/**
 * The command to paste on the host (as root). With a private CA (the
 * kubeconfig has certificate-authority-data) curl cannot verify the server
 * yet, so the script is fetched without verification but run only if its
 * SHA-256 is the one this control plane serves (`scriptSha256`, fetched here
 * over the verified connection); the script then pins the CA by `--ca-hash`
 * before it sends the token. With a public certificate curl verifies it and
 * no pin is needed.
 */
export function joinCommand(options: {
  server: string;
  node: string;
  token: string;
  caHash?: string;
  scriptSha256?: string;
}): string {
  const args = `--server ${options.server} --name ${options.node} --token ${options.token}`;
  if (!options.caHash) return `curl -fsSL ${options.server}/join.sh | sh -s -- ${args}`;
  return [
    `f=$(mktemp) && curl -fsSLk ${options.server}/join.sh -o "$f"`,
    `echo "${options.scriptSha256}  $f" | sha256sum -c --quiet`,
    `sh "$f" ${args} --ca-hash ${options.caHash}`,
  ].join(" && \\\n  ");
}
