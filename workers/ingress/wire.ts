/**
 * The messages of an "http" tunnel stream (ingress), shared by the Worker
 * (workers/ingress/proxy.ts) and the node agent (node-agent/src/streams/http.ts),
 * so it uses no platform APIs. The stream is an ordinary tunnel v2 stream
 * (durable-objects/tunnel/protocol.ts): the Worker is its client socket.
 *
 * Worker → agent: one JSON message (HttpRequestHead), then the request
 * body as binary messages, then one empty message (end of body).
 * Agent → Worker: one JSON message (HttpResponseHead), then the response
 * body as binary messages; the stream's end ends the body. A head with
 * `error` (and no status) means the request did not get an answer; with
 * `notSent` the pod was never reached, so the request may go elsewhere.
 * Every message is numbered (see `numbered` below).
 */

/** Largest payload of one http-stream message (a tunnel frame less the message number). */
export const MAX_PART = 64 * 1024 - 4;

/** The stream open's query key carrying the pod port to dial. */
export const HTTP_PORT_QUERY = "port";

/** The request line and headers (already stripped of hop-by-hop headers). */
export interface HttpRequestHead {
  method: string;
  /** Path and query, as sent by the client. */
  path: string;
  headers: [string, string][];
  /** Set for a WebSocket upgrade (the hop-by-hop Upgrade/Connection headers are not in `headers`). */
  upgrade?: "websocket";
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
const HOP_BY_HOP = new Set([
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

// WebSocket upgrades: the request head says `upgrade: "websocket"`; the agent
// answers a head with status 101 once the pod accepted the upgrade, then each
// WebSocket message travels both ways as one or more stream messages of
// [flags u8][payload]: flags bit 0 = text (else binary), bit 1 = more parts
// follow (a message larger than a tunnel frame is split, and joined again).

/** Flag: the message is text. */
export const WS_TEXT = 1;
/** Flag: more parts of this message follow. */
export const WS_MORE = 2;

/** Split one WebSocket message into stream messages of at most `max` bytes each. */
export function wsParts(data: Uint8Array, text: boolean, max: number): Uint8Array[] {
  const size = max - 1;
  const parts: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < data.byteLength; at += size) {
    const chunk = data.subarray(at, Math.min(at + size, data.byteLength));
    const part = new Uint8Array(chunk.byteLength + 1);
    part[0] = (text ? WS_TEXT : 0) | (at + size < data.byteLength ? WS_MORE : 0);
    part.set(chunk, 1);
    parts.push(part);
  }
  return parts;
}

/** Joins stream messages back into WebSocket messages. */
export class WsJoiner {
  private parts: Uint8Array[] = [];

  /** Add one stream message; returns the whole WebSocket message once its last part arrived. */
  push(part: Uint8Array): { text: boolean; data: Uint8Array } | undefined {
    if (part.byteLength === 0) return undefined;
    this.parts.push(part.subarray(1));
    if (part[0] & WS_MORE) return undefined;
    const total = this.parts.reduce((n, p) => n + p.byteLength, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    this.parts = [];
    return { text: (part[0] & WS_TEXT) !== 0, data };
  }
}

// Every message of an http stream, both ways, starts with its u32 big-endian
// number in the stream (0, 1, ...): workerd may hand a Durable Object the
// messages of a socket out of order under load, and the tunnel only numbers
// the agent's frames, so each end puts this stream's messages back in order.

/** `payload` prefixed with its number `seq`. */
export function numbered(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.byteLength + 4);
  new DataView(out.buffer).setUint32(0, seq >>> 0);
  out.set(payload, 4);
  return out;
}

/** Numbers outgoing messages. */
export class Numberer {
  private next = 0;

  /** The next message, numbered. */
  wrap(payload: Uint8Array): Uint8Array {
    return numbered(this.next++, payload);
  }
}

/** Puts numbered messages back in order; gives each payload once all before it arrived. */
export class Reorder {
  private next = 0;
  private early = new Map<number, Uint8Array>();

  /** Add one numbered message; returns the payloads now in order (possibly none). Throws past `maxEarly` waiting. */
  push(message: Uint8Array, maxEarly = 1000): Uint8Array[] {
    if (message.byteLength < 4) throw new Error("unnumbered stream message");
    const seq = new DataView(message.buffer, message.byteOffset, 4).getUint32(0);
    this.early.set(seq, message.subarray(4));
    if (this.early.size > maxEarly) throw new Error("stream lost a message");
    const out: Uint8Array[] = [];
    for (let m = this.early.get(this.next); m; m = this.early.get(this.next)) {
      this.early.delete(this.next);
      this.next++;
      out.push(m);
    }
    return out;
  }
}
