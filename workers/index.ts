/**
 * The Edgeplane Worker: one script.
 * fetch()     — the Kubernetes API server (workers/apiserver)
 * scheduled() — the per-minute full resync of scheduler and controllers
 */
import type { Env } from "./env.ts";

export { StoreObject } from "../durable-objects/store/object.ts";
export { TunnelObject } from "../durable-objects/tunnel/object.ts";
export { ControllerManager } from "./controllers/manager.ts";

export default {
  async fetch(_request: Request, _env: Env): Promise<Response> {
    return new Response("edgeplane: apiserver not built yet\n", { status: 503 });
  },
  async scheduled(_controller: ScheduledController, _env: Env): Promise<void> {},
} satisfies ExportedHandler<Env>;
