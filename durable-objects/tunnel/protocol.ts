/**
 * Messages on the tunnel WebSocket between a node's TunnelObject and its
 * agent (JSON text frames). The object asks, the agent answers per request
 * id: first "start" or "error", then "data"... and "end". Shared by the
 * Worker and the node agent, so it uses no platform APIs.
 */
import type { Status } from "../../workers/client/status.ts";

/** Object → agent: stream a container's log (query = the pods/log query parameters). */
export interface LogsRequest {
  type: "logs";
  id: string;
  /** The node the pod runs on (for messages). */
  node?: string;
  namespace: string;
  name: string;
  uid: string;
  container: string;
  query: Record<string, string>;
}

/** Object → agent. */
export type TunnelRequest = LogsRequest | { type: "cancel"; id: string };

/**
 * Agent → object. `seq` numbers one stream's replies from 0: the object acts
 * on them in that order. (Under load, workerd has been seen to hand a Durable
 * Object its WebSocket messages out of order: an "end" before the last
 * "data", which lost a log line.) Replies without seq are taken as they come.
 */
export type TunnelReply = (
  | { type: "start"; id: string }
  | { type: "data"; id: string; data: string }
  | { type: "end"; id: string }
  | { type: "error"; id: string; status: Status }
) & { seq?: number };

/** The tunnel endpoint path for a node. */
export function tunnelPath(node: string): string {
  return `/edgeplane/v1/tunnel/${encodeURIComponent(node)}`;
}
