/**
 * The messages of an "http" tunnel stream (ingress), shared by the Worker
 * (workers/ingress/proxy.ts) and the node agent (node-agent/src/streams/http.ts),
 * so it uses no platform APIs. The stream is an ordinary tunnel v2 stream
 * (durable-objects/tunnel/protocol.ts): the Worker is its client socket.
 *
 * Worker → agent: one JSON text message (HttpRequestHead), then the request
 * body as binary messages, then one empty message (end of body).
 * Agent → Worker: one JSON message (HttpResponseHead), then the response
 * body as binary messages; the stream's end ends the body. A head with
 * `error` (and no status) means the request did not get an answer; with
 * `notSent` the pod was never reached, so the request may go elsewhere.
 */

/** The stream open's query key carrying the pod port to dial. */
export const HTTP_PORT_QUERY = "port";

/** The request line and headers (already stripped of hop-by-hop headers). */
export interface HttpRequestHead {
  method: string;
  /** Path and query, as sent by the client. */
  path: string;
  headers: [string, string][];
}

/** The response status and headers, or why there is none. */
export interface HttpResponseHead {
  status?: number;
  headers?: [string, string][];
  error?: string;
  /** The pod's port could not be connected to: nothing of the request reached it. */
  notSent?: boolean;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): one connection's business, never forwarded. */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** `headers` without hop-by-hop ones, nor those the Connection header names. */
export function endToEnd(headers: Iterable<[string, string]>): [string, string][] {
  const all = [...headers].map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
  const named = new Set(
    all
      .filter(([k]) => k === "connection")
      .flatMap(([, v]) => v.split(","))
      .map((t) => t.trim().toLowerCase()),
  );
  return all.filter(([k]) => !HOP_BY_HOP.has(k) && !named.has(k));
}
