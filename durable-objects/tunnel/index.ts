/** Routes a node agent's WebSocket to its node's tunnel object. Placeholder until the node agent lands. */
import type { Env } from "../../workers/env.ts";

export async function handleTunnelConnect(
  _request: Request,
  _env: Env,
  _ctx: ExecutionContext,
): Promise<Response> {
  return new Response("tunnel not built yet\n", { status: 501 });
}
