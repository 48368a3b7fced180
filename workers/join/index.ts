/**
 * Joining a host (docs/deploy.md, Joining a node): three unauthenticated,
 * read-only paths outside the API (and so outside its authorization), like
 * kube's anonymous cluster-info discovery:
 *   /join.sh                        the installer (a static asset)
 *   /edgeplane/v1/join/agent.tar.gz the node agent bundle of this very
 *                                   version (a static asset built by
 *                                   scripts/edgeplane/agent-bundle.ts)
 *   /edgeplane/v1/join/ca.crt       the cluster CA bundle (CLUSTER_CA), which
 *                                   the host checks against the pinned hash
 * Nothing there is secret: the CA is public by nature. The one
 * authenticated path, POST /edgeplane/v1/join/credential (credential.ts),
 * trades a node's join token for its lasting credential.
 */
import { ApiError } from "../client/status.ts";
import { EDGEPLANE_VERSION } from "../client/version.ts";
import type { Env } from "../env.ts";
import { issueCredential } from "./credential.ts";

/** What the join routes need from the Worker's Env. */
export interface JoinEnv {
  /** Workers Static Assets (wrangler.toml [assets]): join.sh and the agent bundle. */
  ASSETS?: Fetcher;
  /** PEM bundle of the CA that signed the server's certificate; unset when the certificate is public. */
  CLUSTER_CA?: string;
}

const PREFIX = "/edgeplane/v1/join/";

/** Asset path for each public path. */
const ASSETS: Record<string, { asset: string; type: string }> = {
  "/join.sh": { asset: "/join.sh", type: "text/x-shellscript; charset=utf-8" },
  [`${PREFIX}agent.tar.gz`]: { asset: "/agent/edgeplane-agent.tar.gz", type: "application/gzip" },
};

/** True for the paths handleJoin serves. */
export function isJoinPath(path: string): boolean {
  return path === "/join.sh" || path.startsWith(PREFIX);
}

/** Serve join.sh, the agent bundle, the CA bundle or a node credential; every failure is a Status. */
export async function handleJoin(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  try {
    if (new URL(request.url).pathname === `${PREFIX}credential`)
      return await issueCredential(request, env, ctx);
    return await serve(request, env);
  } catch (error) {
    if (error instanceof ApiError) return error.toResponse();
    throw error;
  }
}

async function serve(request: Request, env: JoinEnv): Promise<Response> {
  const url = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD")
    throw new ApiError("MethodNotAllowed", `${request.method} is not supported on ${url.pathname}`);
  const headers = { "X-Edgeplane-Version": EDGEPLANE_VERSION, "Cache-Control": "no-cache" };
  if (url.pathname === `${PREFIX}ca.crt`) {
    if (!env.CLUSTER_CA)
      throw new ApiError(
        "NotFound",
        "this control plane has no private CA: its certificate is public, so hosts verify it with their system roots",
      );
    return new Response(request.method === "HEAD" ? null : env.CLUSTER_CA, {
      headers: { ...headers, "Content-Type": "application/x-pem-file" },
    });
  }
  const entry = ASSETS[url.pathname];
  if (!entry) throw new ApiError("NotFound", `${url.pathname} not found`);
  const asset = env.ASSETS
    ? await env.ASSETS.fetch(new Request(new URL(entry.asset, url), { method: request.method }))
    : undefined;
  if (!asset?.ok)
    throw new ApiError(
      "NotFound",
      `${url.pathname} is not part of this deploy: build it with "node scripts/edgeplane/build-agent.mjs" before deploying`,
    );
  return new Response(asset.body, { headers: { ...headers, "Content-Type": entry.type } });
}
