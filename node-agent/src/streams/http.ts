/**
 * The agent side of an ingress request ("http" tunnel stream,
 * workers/ingress/wire.ts): the stream names a pod by uid and a port; the
 * request goes to that pod's own IP on this node and nowhere else (a pod
 * not running here, or without an IP, is refused), so the tunnel cannot be
 * used to reach arbitrary addresses. The request body and the response
 * body are streamed; the response waits for the tunnel's credit, which
 * back-pressures the pod's socket.
 */
import { Agent, type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import WebSocket from "ws";
import type { StreamOpen } from "../../../durable-objects/tunnel/protocol.ts";
import {
  endToEnd,
  HTTP_PORT_QUERY,
  type HttpRequestHead,
  type HttpResponseHead,
  MAX_PART,
  Numberer,
  Reorder,
  WsJoiner,
  wsParts,
} from "../../../workers/ingress/wire.ts";
import type { AgentStream, StreamHandler } from "../tunnel.ts";

/** How long connecting to the pod may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/** What the http handler needs. */
export interface HttpStreamOptions {
  /** The IP of the pod a stream is for, when it runs here and has one (as port-forward's). */
  podIP(open: StreamOpen): string | undefined;
}

const encoder = new TextEncoder();

function sendHead(stream: AgentStream, head: HttpResponseHead): Promise<void> {
  return stream.send(encoder.encode(JSON.stringify(head)));
}

/** Node's header object from pairs (repeated names become arrays: sent as repeated lines). */
function headerObject(pairs: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** rawHeaders [k, v, k, v, ...] as pairs. */
function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

/** Write the request body from the stream (until its empty end message) to the pod, with back-pressure. */
async function pumpRequest(stream: AgentStream, req: ClientRequest): Promise<void> {
  for (;;) {
    const chunk = await stream.read();
    if (chunk === undefined) {
      req.destroy(new Error("the client went away"));
      return;
    }
    if (chunk.byteLength === 0) break;
    if (!req.write(chunk))
      await new Promise<void>((resolve) => req.once("drain", resolve).once("close", resolve));
  }
  req.end();
}

/** Relay the pod's response body in tunnel-sized messages, pausing the socket while the tunnel has no credit. */
async function pumpResponse(stream: AgentStream, res: IncomingMessage): Promise<void> {
  for await (const data of res as AsyncIterable<Buffer>) {
    for (let at = 0; at < data.length; at += MAX_PART)
      await stream.send(data.subarray(at, Math.min(at + MAX_PART, data.length)));
    if (stream.signal.aborted) {
      res.destroy();
      return;
    }
  }
}

/** Headers the WebSocket client makes itself (a fresh handshake with the pod). */
const HANDSHAKE = new Set([
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);

/**
 * A WebSocket upgrade: open a WebSocket to the pod with the client's path,
 * headers and subprotocols; once it is open, answer 101 and relay messages
 * both ways (wire.ts framing) until either side closes.
 */
async function serveWebSocket(
  stream: AgentStream,
  head: HttpRequestHead,
  ip: string,
  port: number,
): Promise<void> {
  const headers = endToEnd(head.headers).filter(([k]) => !HANDSHAKE.has(k));
  const protocols = head.headers
    .filter(([k]) => k.toLowerCase() === "sec-websocket-protocol")
    .flatMap(([, v]) => v.split(","))
    .map((p) => p.trim())
    .filter(Boolean);
  const ws = new WebSocket(`ws://${ip}:${port}${head.path}`, protocols, {
    headers: headerObject(headers),
    handshakeTimeout: CONNECT_TIMEOUT_MS,
    perMessageDeflate: false,
  });
  const opened = await new Promise<HttpResponseHead>((resolve) => {
    ws.once("open", () =>
      resolve({ status: 101, headers: ws.protocol ? [["sec-websocket-protocol", ws.protocol]] : [] }),
    );
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 502, headers: endToEnd(pairs(res.rawHeaders)) });
    });
    ws.once("error", (error) => resolve({ error: `connect: ${error.message}`, notSent: true }));
  });
  await sendHead(stream, opened);
  if (opened.status !== 101) {
    ws.terminate();
    return;
  }
  const done = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  ws.on("message", (data: Buffer, binary: boolean) => {
    ws.pause();
    void (async () => {
      for (const part of wsParts(new Uint8Array(data), !binary, MAX_PART)) await stream.send(part);
      ws.resume();
    })();
  });
  stream.signal.addEventListener("abort", () => ws.close());
  const joiner = new WsJoiner();
  // Client → pod until the client ends; the stream ends when the pod's socket closes.
  void (async () => {
    for (let m = await stream.read(); m !== undefined; m = await stream.read()) {
      const message = joiner.push(m);
      if (message) ws.send(message.data, { binary: !message.text });
    }
    ws.close();
  })();
  await done;
}

/** `stream` with this protocol's message numbers taken off (in order) and put on (wire.ts). */
function ordered(stream: AgentStream): AgentStream {
  const numbers = new Numberer();
  const reorder = new Reorder();
  const ready: Uint8Array[] = [];
  return {
    open: stream.open,
    signal: stream.signal,
    end: () => stream.end(),
    send: (message) => stream.send(numbers.wrap(message)),
    async read() {
      while (ready.length === 0) {
        const message = await stream.read();
        if (message === undefined) return undefined;
        ready.push(...reorder.push(message));
      }
      return ready.shift();
    },
  };
}

/** The `http` stream handler for the tunnel client. */
export function httpStreamHandler(options: HttpStreamOptions): StreamHandler {
  // Connections to pods are reused between requests (bounded per pod address).
  const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 8 });
  return async (raw) => {
    const stream = ordered(raw);
    const { open } = stream;
    const port = Number(new URLSearchParams(open.query).get(HTTP_PORT_QUERY));
    const first = await stream.read();
    if (!first) return;
    const head = JSON.parse(new TextDecoder().decode(first)) as HttpRequestHead;
    const ip = options.podIP(open);
    if (!ip)
      return sendHead(stream, {
        error: `pod ${open.namespace}/${open.name} is not running on this node`,
        notSent: true,
      });
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return sendHead(stream, { error: `invalid port ${port}`, notSent: true });
    if (head.upgrade === "websocket") return serveWebSocket(stream, head, ip, port);
    let connected = false;
    const req = httpRequest({
      host: ip,
      port,
      method: head.method,
      path: head.path,
      headers: headerObject(endToEnd(head.headers)),
      setHost: false,
      agent,
    });
    req.on("socket", (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once("connect", () => (connected = true));
    });
    stream.signal.addEventListener("abort", () => req.destroy(new Error("the client went away")));
    const connectTimer = setTimeout(() => {
      if (!connected) req.destroy(new Error("timed out connecting to the pod"));
    }, CONNECT_TIMEOUT_MS);
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once("response", resolve);
      req.once("error", reject);
    }).finally(() => clearTimeout(connectTimer));
    const body = pumpRequest(stream, req).catch(() => {});
    let res: IncomingMessage;
    try {
      res = await response;
    } catch (error) {
      await sendHead(stream, {
        error: `${connected ? "" : "connect: "}${(error as Error).message}`,
        notSent: !connected,
      });
      return;
    }
    // The answer may come before the body is sent (e.g. 413 from the pod): the body pump ends with the stream.
    void body;
    await sendHead(stream, { status: res.statusCode ?? 502, headers: endToEnd(pairs(res.rawHeaders)) });
    await pumpResponse(stream, res);
  };
}
