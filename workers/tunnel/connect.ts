/**
 * The tunnel endpoint: GET /edgeplane/v1/tunnel/<node> with a WebSocket
 * upgrade and the agent's bearer token. Admins may connect for any node; a
 * node identity (system:node:<name>, e.g. a bootstrap token bound to that
 * node with data "node-name") only for its own. An unbound bootstrap token
 * may hold no tunnel: it could otherwise impersonate any node's agent.
 * The socket is then handed to that node's TunnelObject.
 */
import { authenticate } from "../apiserver/auth.ts";
import { ApiError } from "../client/status.ts";
import { tryDecodeURIComponent } from "../client/uri.ts";
import type { Env } from "../env.ts";

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** May `user` hold the tunnel of `node`? */
export function mayConnect(user: { name: string; groups: string[] }, node: string): boolean {
  if (user.groups.includes("system:masters")) return true;
  return user.name === `system:node:${node}`;
}

/** Route a node agent's WebSocket to its node's tunnel object. */
export async function handleTunnelConnect(
  request: Request,
  env: Env,
  _ctx: ExecutionContext,
): Promise<Response> {
  const path = new URL(request.url).pathname;
  // A malformed %-escape decodes to "" and fails the name check (400), like any bad name.
  const node = tryDecodeURIComponent(path.slice("/edgeplane/v1/tunnel/".length)) ?? "";
  if (!NODE_NAME.test(node))
    return new ApiError("BadRequest", `invalid node name ${JSON.stringify(node)}`).toResponse();
  const user = await authenticate(request, env);
  if (!user) return new ApiError("Unauthorized", "Unauthorized").toResponse();
  if (!mayConnect(user, node))
    return new ApiError(
      "Forbidden",
      `User "${user.name}" cannot connect the tunnel of node "${node}"`,
    ).toResponse();
  if ((request.headers.get("Upgrade") ?? "").toLowerCase() !== "websocket")
    return new ApiError("BadRequest", "the tunnel endpoint needs a WebSocket upgrade").toResponse();
  const headers = new Headers(request.headers);
  headers.delete("Authorization");
  headers.set("X-Edgeplane-Node", node);
  const stub = env.TUNNEL.get(env.TUNNEL.idFromName(node));
  return stub.fetch(new Request(request.url, { headers }));
}
