/**
 * `services.podLogs` for the API server's pods/log subresource: finds the
 * node the pod runs on and streams the container's log through that node's
 * TunnelObject (plain text; chunked while following). A node without a
 * connected agent answers 503 ServiceUnavailable at once.
 */

import type { PodLogsService } from "../apiserver/platform.ts";
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { Env } from "../env.ts";

/** What podLogs needs: the node tunnels, the pod (already read by the API server) and the request's query. */
export interface PodLogsArgs {
  env: Pick<Env, "TUNNEL">;
  namespace: string;
  name: string;
  pod: KubeObject;
  /** Container name; default: query "container", else the pod's only container. */
  container?: string;
  query: URLSearchParams;
}

const QUERY_KEYS = [
  "follow",
  "previous",
  "timestamps",
  "tailLines",
  "sinceSeconds",
  "sinceTime",
  "limitBytes",
];

/** Stream a container's log from the node the pod runs on. */
export async function podLogs(args: PodLogsArgs): Promise<Response> {
  const spec = (args.pod.spec ?? {}) as { nodeName?: string; containers?: { name: string }[] };
  const node = spec.nodeName;
  const container = args.container ?? args.query.get("container") ?? spec.containers?.[0]?.name ?? "";
  if (!node)
    return new ApiError(
      "BadRequest",
      `container "${container}" in pod "${args.name}" is waiting to start: pod is not scheduled yet`,
    ).toResponse();
  const query: Record<string, string> = {};
  for (const key of QUERY_KEYS) {
    const value = args.query.get(key);
    if (value !== null) query[key] = value;
  }
  const stub = args.env.TUNNEL.get(args.env.TUNNEL.idFromName(node));
  return stub.fetch("https://tunnel.internal/logs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      node,
      namespace: args.namespace,
      name: args.name,
      uid: args.pod.metadata?.uid ?? "",
      container,
      query,
    }),
  });
}

/** podLogs bound to the node tunnels, in the shape the pods/log subresource calls (`services.podLogs`). */
export function podLogsService(env: Pick<Env, "TUNNEL">): PodLogsService {
  return (args: Omit<PodLogsArgs, "env">) => podLogs({ ...args, env });
}
