/**
 * Bootstrap tokens for the local cluster, made the way a remote node's are
 * (a `bootstrap.kubernetes.io/token` Secret in kube-system, docs/deploy.md),
 * so local agents join with a node credential rather than the admin token.
 * A token bound to a node (data `node-name`) authenticates as
 * `system:node:<name>`. The token is kept in the state dir and its Secret is
 * recreated if the cluster state was wiped.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, readFile } from "node:fs/promises";
import type { ClusterFetch } from "../lib/client.ts";
import { privateFile } from "./private.ts";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomToken(length: number): string {
  return [...randomBytes(length)].map((b) => ALPHABET[b % ALPHABET.length]).join("");
}

/** What a bootstrap token is for. */
export interface TokenPurpose {
  /** Bind the token to this node (identity system:node:<name>). */
  nodeName?: string;
  description: string;
}

/** The token `<id>.<secret>` stored in `file`, created (file and Secret) when missing. */
export async function ensureBootstrapToken(
  fetcher: ClusterFetch,
  file: string,
  purpose: TokenPurpose,
): Promise<string> {
  let token = existsSync(file) ? (await readFile(file, "utf8")).trim() : "";
  if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token)) {
    token = `${randomToken(6)}.${randomToken(16)}`;
    await privateFile(file, `${token}\n`);
  }
  await chmod(file, 0o600);
  const [id, secret] = token.split(".");
  const path = "/api/v1/namespaces/kube-system/secrets";
  const existing = await fetcher(`${path}/bootstrap-token-${id}`);
  await existing.arrayBuffer();
  if (existing.status === 200) return token;
  if (existing.status !== 404) throw new Error(`reading bootstrap token ${id}: HTTP ${existing.status}`);
  const data: Record<string, string> = {
    "token-id": id,
    "token-secret": secret,
    "usage-bootstrap-authentication": "true",
    description: purpose.description,
  };
  if (purpose.nodeName) data["node-name"] = purpose.nodeName;
  const res = await fetcher(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    }),
  });
  const body = await res.text();
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`creating bootstrap token ${id}: HTTP ${res.status} ${body.slice(0, 300)}`);
  }
  return token;
}
