/**
 * The platform services the API server hands to custom subresources (the
 * node tunnels behind pods/log, exec, attach, portforward). Typed here, once,
 * so a subresource calls them without casts and the Worker's wiring is
 * checked against what the subresources expect. A missing service answers
 * 503 ServiceUnavailable from the subresource that needs it.
 */
import type { KubeObject } from "../client/kube.ts";
import type { NodeSample } from "../client/metrics-sample.ts";
import type { TokenServices } from "./serviceaccount/config.ts";

/** Streams a container's log (plain text) from the node the pod runs on. */
export type PodLogsService = (args: {
  namespace: string;
  name: string;
  pod: KubeObject;
  container: string;
  /** The request's query: follow, previous, timestamps, sinceSeconds, tailLines, limitBytes. */
  query: URLSearchParams;
  request: Request;
}) => Promise<Response>;

/** Serves exec/attach/portforward (a WebSocket upgrade) through the node tunnel. */
export type PodExecService = (args: {
  kind: "exec" | "attach" | "portforward";
  namespace: string;
  name: string;
  pod: KubeObject;
  request: Request;
}) => Promise<Response>;

/** Whether a node's agent holds its tunnel now (streams to a node without one cannot be served). */
export type NodeConnectedService = (node: string) => Promise<boolean>;

/** What custom subresources may call; each is optional (absent: the subresource answers 503). */
export interface PlatformServices {
  /** pods/log. */
  podLogs?: PodLogsService;
  /** pods/exec, pods/attach, pods/portforward. */
  podExec?: PodExecService;
  /** Checked before exec/attach/portforward answer (absent: assumed connected). */
  nodeConnected?: NodeConnectedService;
  /** serviceaccounts/token and TokenReview: the token issuer and authenticator (serviceaccount/config.ts). */
  tokens?: TokenServices;
  /** The nodes' latest resource-metrics samples, for metrics.k8s.io (absent: none). */
  metrics?: MetricsService;
}

/** Where metrics.k8s.io reads from: each reporting node's latest sample (workers/metrics/service.ts). */
export interface MetricsService {
  samples(): Promise<(NodeSample & { nodeName: string })[]>;
}
