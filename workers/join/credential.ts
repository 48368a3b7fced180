/**
 * POST /edgeplane/v1/join/credential: a host trades its join token for the
 * node's lasting credential. A join token expires (24h by default) but the
 * agent authenticates with its token for as long as it runs, and there is no
 * CSR flow to give it a certificate; so, as kubeadm's TLS bootstrap swaps the
 * bootstrap token for a client certificate, this swaps it for a new
 * bootstrap token bound to the same node, without expiration, and deletes
 * the presented one (a join token works once). Only a node-bound token may
 * ask, and only for its own node; presenting a credential rotates it.
 * `edgeplane node remove` revokes it with the rest of the node's tokens.
 */

import { authenticate } from "../apiserver/auth.ts";
import { inProcessClient } from "../apiserver/index.ts";
import { R } from "../client/resources.ts";
import { ApiError } from "../client/status.ts";
import type { Env } from "../env.ts";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** The identity the Worker writes node credentials as (in-process only: no token can claim it). */
const ISSUER = { name: "system:edgeplane:join", groups: ["system:masters", "system:authenticated"] };

function random(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
  let out = "";
  // Rejection sampling keeps every character equally likely (252 = 7 × 36).
  for (const b of bytes) if (b < 252 && out.length < length) out += ALPHABET[b % 36];
  return out.length === length ? out : random(length);
}

/** Issue the node credential for the join token on `request`; the body is {"token": "<id>.<secret>"}. */
export async function issueCredential(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  if (request.method !== "POST")
    throw new ApiError(
      "MethodNotAllowed",
      `${request.method} is not supported on ${new URL(request.url).pathname}`,
    );
  const user = await authenticate(request, env);
  if (!user) throw new ApiError("Unauthorized", "Unauthorized");
  const node = /^system:node:(.+)$/.exec(user.name)?.[1];
  const presented = /^bearer ([a-z0-9]{6})\.[a-z0-9]{16}$/i.exec(
    request.headers.get("Authorization") ?? "",
  )?.[1];
  if (!node || !presented || !user.groups.includes("system:nodes"))
    throw new ApiError(
      "Forbidden",
      "only a join token bound to a node (edgeplane token create --node) may ask for its credential",
    );
  const client = inProcessClient(env, ctx, ISSUER);
  const id = random(6);
  const secret = random(16);
  const stringData = {
    "token-id": id,
    "token-secret": secret,
    "usage-bootstrap-authentication": "true",
    "node-name": node,
    description: `node credential of ${node} (issued at join for token ${presented})`,
  };
  await client.create(R.secrets, "kube-system", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
    type: "bootstrap.kubernetes.io/token",
    stringData,
  });
  try {
    await client.delete(R.secrets, "kube-system", `bootstrap-token-${presented}`);
  } catch (error) {
    // Two hosts raced with one token: the loser's new credential must not outlive the refusal.
    await client.delete(R.secrets, "kube-system", `bootstrap-token-${id}`).catch(() => {});
    if (error instanceof ApiError && error.code === 404)
      throw new ApiError("Conflict", "this join token was already used");
    throw error;
  }
  return new Response(JSON.stringify({ token: `${id}.${secret}` }), {
    status: 201,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}
