/**
 * The Edgeplane Worker: one script.
 * fetch()     — /v2/...                the built-in OCI registry (workers/oci-registry)
 *               /edgeplane/v1/tunnel/  node agents' outbound WebSocket (workers/tunnel → durable-objects/tunnel)
 *               /join.sh, /edgeplane/v1/join/  joining a host: installer, agent bundle, CA (workers/join; no auth)
 *               /ui, /ui/assets/        the dashboard's static files (workers/dashboard; no auth, no data)
 *               /edgeplane/v1/metrics/ node agents' resource-metrics samples (workers/metrics)
 *               hosts under INGRESS_DOMAINS  edge Ingress (workers/ingress)
 *               everything else        the Kubernetes API server (workers/apiserver)
 * Ingress     — the ingress front door alone (npm start's ingress port).
 * scheduled() — the per-minute full resync of scheduler and controllers; writes
 *               also wake them within milliseconds through the API server's onWrite hook.
 */

import { WorkerEntrypoint } from "cloudflare:workers";
import { MAX_BODY_BYTES } from "./apiserver/decode.ts";
import { apiServerForEnv } from "./apiserver/index.ts";
import { handleDashboard, isDashboardPath } from "./dashboard/index.ts";
import type { Env } from "./env.ts";
import { handleIngress, isIngressHost } from "./ingress/index.ts";
import { handleJoin, isJoinPath } from "./join/index.ts";
import { resync, wake } from "./manager/index.ts";
import { handleMetricsPush, METRICS_PUSH_PREFIX } from "./metrics/push.ts";
import { handleRegistry } from "./oci-registry/index.ts";
import { handleTunnelConnect } from "./tunnel/connect.ts";
import { podLogsService } from "./tunnel/logs.ts";
import { nodeConnectedService } from "./tunnel/node-status.ts";
import { podStreamService } from "./tunnel/streams.ts";

export { ControllerManager } from "../durable-objects/controller-manager/object.ts";
export { MetricsObject } from "../durable-objects/metrics/object.ts";
export { StoreObject } from "../durable-objects/store/object.ts";
export { TunnelObject } from "../durable-objects/tunnel/object.ts";

/** The ingress front door as its own entrypoint: every request is an ingress request (the local ingress port). */
export class IngressEntrypoint extends WorkerEntrypoint<Env> {
  override async fetch(request: Request): Promise<Response> {
    return handleIngress(request, this.env);
  }
}

/**
 * Read what is left of a request body the answer did not need (a 401, 403 or 405 given before the body was
 * read), up to the API's body limit: workerd resets a keep-alive connection whose request body was left
 * unread, and the client's next request on it failed with ECONNRESET.
 */
async function drainUnread(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return;
  const reader = request.body.getReader();
  let seen = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
      if (seen > MAX_BODY_BYTES) return void (await reader.cancel());
    }
  } catch {
    // The client went away: nothing to keep usable.
  }
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (isIngressHost(env, request.headers.get("Host") ?? url.host)) return handleIngress(request, env);
    const path = url.pathname;
    if (path === "/v2" || path.startsWith("/v2/")) return handleRegistry(request, env, ctx);
    if (path.startsWith("/edgeplane/v1/tunnel/")) return handleTunnelConnect(request, env, ctx);
    if (isJoinPath(path)) return handleJoin(request, env, ctx);
    if (isDashboardPath(path)) return handleDashboard(request, env);
    if (path.startsWith(METRICS_PUSH_PREFIX)) return handleMetricsPush(request, env);
    const app = apiServerForEnv(env, ctx, {
      shareWatches: true,
      onWrite: (event) => wake(env, ctx, event),
      services: {
        podLogs: podLogsService(env),
        podExec: podStreamService(env),
        nodeConnected: nodeConnectedService(env),
      },
    });
    const response = await app.fetch(request);
    await drainUnread(request);
    return response;
  },
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    ctx.waitUntil(resync(env, ctx));
  },
} satisfies ExportedHandler<Env>;
