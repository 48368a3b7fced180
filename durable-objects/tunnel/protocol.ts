/**
 * Messages on the tunnel WebSocket between a node's TunnelObject and its
 * agent. Shared by the Worker and the node agent, so it uses no platform APIs.
 */

/** A logs request (the object's /logs body, and what the agent's logs handler gets; query = the pods/log query parameters). */
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

/** Object → agent JSON text messages. */
export type TunnelRequest = StreamOpen;

/** The tunnel endpoint path for a node. */
export function tunnelPath(node: string): string {
  return `/edgeplane/v1/tunnel/${encodeURIComponent(node)}`;
}

// ---------------------------------------------------------------------------
// Tunnel v2: multiplexed streams.
//
// A stream is a duplex, message-preserving byte channel between one client
// connection at the TunnelObject (e.g. kubectl's exec WebSocket) and a handler
// on the agent. The object only relays: one client WebSocket message = one
// DATA frame, and back. The agent speaks the client's protocol (v5.channel.k8s.io,
// SPDY/3.1+portforward.k8s.io, ...), the k3s/remotedialer split.
//
// Control frames are JSON text (StreamOpen object → agent); data frames are
// binary: [op u8][stream u32 big-endian][seq u32 big-endian][payload]. The
// agent numbers each stream's frames (seq 0, 1, ...) and the object acts on
// them in that order: under load workerd has handed a Durable Object its
// WebSocket messages out of order (an "end" before the last "data").
// Object → agent frames carry seq 0 (the agent's socket keeps order).
// Flow control: the agent may have at most streamWindow(kind) bytes of DATA
// payload per stream in flight towards the object; the object returns
// CREDIT(n) as it hands bytes on, so its own buffer stays bounded whatever
// the transfer size (a window is the agent's choice: the object only
// credits, so either side may change it without the other). Routing state lives in WebSocket tags/attachments, so a
// hibernated object wakes up knowing every stream.
// ---------------------------------------------------------------------------

/** What a stream carries; the agent has one handler per kind ("http": one ingress request, workers/ingress/wire.ts). */
export type StreamKind = "exec" | "attach" | "portforward" | "logs" | "http";

/** Object → agent (JSON text): open stream `stream` for a pod. */
export interface StreamOpen {
  type: "open";
  /** u32 id, chosen by the object, unique among its open streams. */
  stream: number;
  kind: StreamKind;
  namespace: string;
  name: string;
  uid: string;
  /** The resolved container (exec/attach/logs); "" for portforward. */
  container: string;
  /** The client request's query as ordered pairs (exec's `command` repeats). */
  query: [string, string][];
  /** The negotiated WebSocket subprotocol the agent must speak ("" if none). */
  protocol: string;
}

/** Binary frame operations. */
export const StreamOp = {
  /** Payload: one message of the stream's protocol. */
  DATA: 1,
  /** The sender will send no more DATA on this stream (the other side may still send). */
  END: 2,
  /** Abort the stream both ways. Payload: optional UTF-8 reason. */
  RESET: 3,
  /** Object → agent: payload u32 big-endian = bytes the agent may send more. */
  CREDIT: 4,
} as const;
/** One of StreamOp's values. */
export type StreamOpCode = (typeof StreamOp)[keyof typeof StreamOp];

/**
 * Bytes of DATA payload per stream the agent may send before it waits for
 * CREDIT, on a logs stream: the object keeps what a slow reader has not read
 * yet, so this is what it may hold per stream. 1 MiB.
 */
export const STREAM_WINDOW = 1024 * 1024;

/**
 * The same for a stream with a client socket (exec, attach, portforward,
 * http): the object hands each frame to the socket as it comes and credits
 * it at once, so the window holds nothing in the object and only sets how
 * long a credit may take to come back before the agent stalls. 4 MiB: with
 * 1 MiB the agent spent a third of a port-forward waiting for credit from a
 * busy workerd (issue 14's profile).
 */
const SOCKET_STREAM_WINDOW = 4 * 1024 * 1024;

/** The agent's window for a stream of `kind`. */
export function streamWindow(kind: StreamKind): number {
  return kind === "logs" ? STREAM_WINDOW : SOCKET_STREAM_WINDOW;
}

/**
 * Largest DATA payload per frame (Workers accept messages up to 1 MiB). 256 KiB:
 * every message costs the object an event and kubectl a read, so a port-forward
 * moves more per message when the agent has that much at hand.
 */
export const MAX_FRAME_PAYLOAD = 256 * 1024;

/** A decoded binary frame. */
export interface StreamFrame {
  op: StreamOpCode;
  stream: number;
  /** The sender's per-stream frame number (agent → object; 0 the other way). */
  seq: number;
  payload: Uint8Array;
}

/** Bytes before a frame's payload. */
export const FRAME_HEADER = 9;

/** Encode a binary frame. */
export function encodeFrame(
  op: StreamOpCode,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
  seq = 0,
): Uint8Array {
  return writeFrame(new Uint8Array(FRAME_HEADER + payload.byteLength), op, stream, [payload], seq);
}

/**
 * Write a frame whose payload is `parts` one after the other into `out`
 * (FRAME_HEADER + their total length bytes). The agent passes a SPDY header
 * and the socket's own buffers as parts into one unfilled buffer, so each
 * relayed byte is copied once on its way to the tunnel socket.
 */
export function writeFrame(
  out: Uint8Array,
  op: StreamOpCode,
  stream: number,
  parts: readonly Uint8Array[],
  seq = 0,
): Uint8Array {
  out[0] = op;
  const view = new DataView(out.buffer, out.byteOffset, FRAME_HEADER);
  view.setUint32(1, stream >>> 0);
  view.setUint32(5, seq >>> 0);
  let at = FRAME_HEADER;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Decode a binary frame; undefined for a malformed one. */
export function decodeFrame(data: ArrayBuffer | Uint8Array): StreamFrame | undefined {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < FRAME_HEADER) return undefined;
  const op = bytes[0] as StreamOpCode;
  if (op < StreamOp.DATA || op > StreamOp.CREDIT) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { op, stream: view.getUint32(1), seq: view.getUint32(5), payload: bytes.subarray(FRAME_HEADER) };
}

/** CREDIT payload for `n` bytes. */
export function creditPayload(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

/** The byte count of a CREDIT payload. */
export function readCredit(payload: Uint8Array): number {
  return payload.byteLength < 4 ? 0 : new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
}
