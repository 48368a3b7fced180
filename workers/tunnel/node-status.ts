/**
 * `services.nodeConnected`: asks a node's TunnelObject whether its agent is
 * connected, so the streaming subresources can refuse early with 503 (and
 * before telling an old SPDY client to upgrade).
 */
import type { NodeConnectedService } from "../apiserver/platform.ts";
import type { Env } from "../env.ts";

/** nodeConnected bound to the node tunnels. */
export function nodeConnectedService(env: Pick<Env, "TUNNEL">): NodeConnectedService {
  return async (node) => {
    const stub = env.TUNNEL.get(env.TUNNEL.idFromName(node));
    const response = await stub.fetch("https://tunnel.internal/status");
    if (!response.ok) return false;
    return ((await response.json()) as { connected?: boolean }).connected === true;
  };
}
