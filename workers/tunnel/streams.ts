/**
 * Worker side of tunnel v2 streams. `openStream` hands a client's WebSocket
 * upgrade (kubectl exec/attach/port-forward) to the node's TunnelObject,
 * which accepts the client socket itself (hibernatable) and relays each of
 * its messages to the node agent as one stream; the agent speaks the
 * client's protocol. `podStreamService` is `services.podExec`: it picks the
 * subprotocol, then opens the stream.
 */

import type { StreamKind, StreamOpen } from "../../durable-objects/tunnel/protocol.ts";
import type { PodExecService } from "../apiserver/platform.ts";
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { Env } from "../env.ts";

/** What the object needs to open a stream (it assigns the stream id itself). */
export type StreamSpec = Omit<StreamOpen, "type" | "stream">;

/** Header carrying the JSON StreamSpec from the Worker to the TunnelObject. */
const STREAM_SPEC_HEADER = "X-Edgeplane-Stream";

/** Subprotocols each kind speaks, best first (portforward's are added by its handler's author). */
const STREAM_PROTOCOLS: Record<StreamKind, string[]> = {
  exec: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
  attach: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
  // kubectl 1.31+ (1.30 with KUBECTL_PORT_FORWARD_WEBSOCKETS=true) tunnels SPDY; web clients use v4 channels.
  portforward: ["SPDY/3.1+portforward.k8s.io", "v4.channel.k8s.io"],
  logs: [],
  // Opened by the Worker's ingress (workers/ingress), never by a client's upgrade.
  http: [],
};

/**
 * Open a stream to `node`'s agent for the client WebSocket upgrade `request`.
 * Returns the 101 response (echoing `spec.protocol`), or a Status response
 * (503 when the node's agent is not connected). After the 101, failures are
 * the agent's to report in the client's protocol (e.g. a Status on channel 3).
 */
export async function openStream(
  env: Pick<Env, "TUNNEL">,
  node: string,
  spec: StreamSpec,
  request: Request,
): Promise<Response> {
  const headers = new Headers({ Upgrade: "websocket", [STREAM_SPEC_HEADER]: JSON.stringify(spec) });
  const key = request.headers.get("Sec-WebSocket-Key");
  if (key) headers.set("Sec-WebSocket-Key", key);
  const stub = env.TUNNEL.get(env.TUNNEL.idFromName(node));
  return stub.fetch("https://tunnel.internal/stream", { headers });
}

/** The subprotocol to answer with: the first of ours the client offers. */
function pickProtocol(kind: StreamKind, request: Request): string | undefined {
  const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return STREAM_PROTOCOLS[kind].find((p) => offered.includes(p));
}

function containerOf(pod: KubeObject, query: URLSearchParams): string {
  const spec = (pod.spec ?? {}) as { containers?: { name: string }[] };
  return query.get("container") ?? spec.containers?.[0]?.name ?? "";
}

/** `services.podExec` bound to the node tunnels: exec/attach (and portforward once it has protocols). */
export function podStreamService(env: Pick<Env, "TUNNEL">): PodExecService {
  return async ({ kind, namespace, name, pod, request }) => {
    const node = (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? "";
    const protocol = pickProtocol(kind, request);
    if (!protocol)
      return new ApiError(
        "BadRequest",
        `pods/${kind} needs a WebSocket subprotocol, one of: ${STREAM_PROTOCOLS[kind].join(", ") || "(none yet)"}`,
      ).toResponse();
    const query = new URL(request.url).searchParams;
    return openStream(
      env,
      node,
      {
        kind,
        namespace,
        name,
        uid: pod.metadata?.uid ?? "",
        container: kind === "portforward" ? "" : containerOf(pod, query),
        query: [...query.entries()],
        protocol,
      },
      request,
    );
  };
}
