/**
 * Carry one HTTP request to a pod through its node's tunnel: an "http"
 * stream (wire.ts) opened like port-forward's (workers/tunnel/streams.ts
 * openStream), with this Worker as the stream's client socket. The request
 * body is streamed out in tunnel-sized messages and the response body
 * streamed back as it arrives.
 */
import type { Env } from "../env.ts";
import { openStream } from "../tunnel/streams.ts";
import type { Target } from "./routes.ts";
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
} from "./wire.ts";

/** Limits on one carried request. */
export interface CarryLimits {
  /** Request body bytes beyond which the request is refused (413). */
  maxBodyBytes: number;
  /** Milliseconds the pod has to start answering (504 after). */
  responseTimeoutMs: number;
}

/** What became of one attempt: a response, or a failure before any response (with whether the pod saw the request). */
export type Outcome = { response: Response } | { failure: string; status: number; reachedPod: boolean };

/** Statuses whose responses have no body (fetch refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** Send `body` as messages of at most one frame; refuse beyond the limit. */
async function pumpBody(
  send: (message: Uint8Array) => void,
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<boolean> {
  let total = 0;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // An empty message ends the body on the wire: an empty chunk is skipped, not sent.
      if (value.byteLength === 0) continue;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return false;
      }
      for (let at = 0; at < value.byteLength; at += MAX_PART)
        send(value.slice(at, Math.min(at + MAX_PART, value.byteLength)));
    }
  }
  send(new Uint8Array(0));
  return true;
}

/** The Response for a pod's response head and the body stream behind it. */
function toResponse(head: HttpResponseHead, method: string, body: ReadableStream<Uint8Array>): Response {
  const status = head.status ?? 502;
  const headers = new Headers();
  for (const [k, v] of endToEnd(head.headers ?? [])) headers.append(k, v);
  const empty = NULL_BODY.has(status) || method === "HEAD";
  if (empty) body.cancel().catch(() => {});
  return new Response(empty ? null : body, {
    status: status < 200 || status > 599 ? 502 : status,
    headers,
    // The pod's bytes as they are: a gzip body stays gzip, never re-encoded.
    encodeBody: headers.has("content-encoding") ? "manual" : "automatic",
  });
}

/** Carry `request` (head already built) to `target`. */
export async function carry(
  env: Pick<Env, "TUNNEL">,
  target: Target,
  requestHead: HttpRequestHead,
  body: ReadableStream<Uint8Array> | null,
  limits: CarryLimits,
): Promise<Outcome> {
  const opened = await openStream(
    env,
    target.node,
    {
      kind: "http",
      namespace: target.namespace,
      name: target.pod,
      uid: target.uid,
      container: "",
      query: [[HTTP_PORT_QUERY, String(target.port)]],
      protocol: "",
    },
    new Request("https://ingress.internal/"),
  );
  const ws = opened.webSocket;
  if (!ws) return { failure: `node ${target.node} is not connected`, status: 503, reachedPod: false };
  ws.accept();
  // This stream's messages are numbered both ways (wire.ts): sent in order, put back in order.
  const numbers = new Numberer();
  const send = (message: Uint8Array) => ws.send(numbers.wrap(message));
  const reorder = new Reorder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: () => ws.close(1000, "client went away"),
  });
  let settle!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  let answer: HttpResponseHead | undefined;
  /** After a WebSocket upgrade: the client's socket, its messages relayed as wire.ts parts. */
  let client: WebSocket | undefined;
  const joiner = new WsJoiner();
  const upgraded = (head: HttpResponseHead): Response => {
    const pair = new WebSocketPair();
    client = pair[1];
    client.accept();
    client.addEventListener("message", (event) => {
      const text = typeof event.data === "string";
      const data = text
        ? new TextEncoder().encode(event.data as string)
        : new Uint8Array(event.data as ArrayBuffer);
      for (const part of wsParts(data, text, MAX_PART)) send(part);
    });
    client.addEventListener("close", () => ws.close(1000, "client closed"));
    const headers = new Headers();
    const protocol = head.headers?.find(([k]) => k === "sec-websocket-protocol")?.[1];
    if (protocol) headers.set("Sec-WebSocket-Protocol", protocol);
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  };
  const timer = setTimeout(() => {
    settle({ failure: "the pod did not answer in time", status: 504, reachedPod: true });
    ws.close(1000, "timeout");
  }, limits.responseTimeoutMs);
  // Messages are handled one after another in arrival order (a Blob needs an await to read).
  let chain = Promise.resolve();
  const onMessage = async (data: string | ArrayBuffer | Blob) => {
    const raw =
      typeof data === "string"
        ? new TextEncoder().encode(data)
        : new Uint8Array(data instanceof Blob ? await data.arrayBuffer() : data);
    let payloads: Uint8Array[];
    try {
      payloads = reorder.push(raw);
    } catch (error) {
      ws.close(1011, (error as Error).message);
      return;
    }
    for (const bytes of payloads) handle(bytes);
  };
  /** One payload from the agent, in order. */
  const handle = (bytes: Uint8Array) => {
    if (!answer) {
      try {
        answer = JSON.parse(new TextDecoder().decode(bytes)) as HttpResponseHead;
      } catch {
        answer = { error: "malformed response head from the node" };
      }
      clearTimeout(timer);
      if (answer.error || !answer.status)
        settle({ failure: answer.error ?? "no status", status: 502, reachedPod: !answer.notSent });
      else if (answer.status === 101 && requestHead.upgrade) settle({ response: upgraded(answer) });
      else settle({ response: toResponse(answer, requestHead.method, stream) });
      return;
    }
    if (client) {
      const message = joiner.push(bytes);
      if (message) client.send(message.text ? new TextDecoder().decode(message.data) : message.data);
      return;
    }
    try {
      controller.enqueue(bytes);
    } catch {
      // the body was cancelled
    }
  };
  ws.addEventListener("message", (event) => {
    const data = event.data as string | ArrayBuffer | Blob;
    chain = chain
      .then(() => onMessage(data))
      .catch((error: unknown) => {
        console.warn(`ingress stream to pod ${target.pod}: ${(error as Error).message}`);
        ws.close(1011, "relay failed");
      });
  });
  ws.addEventListener("close", (event) => {
    chain = chain.then(() => onClose(event.code, event.reason));
  });
  const onClose = (code: number, reason: string) => {
    clearTimeout(timer);
    if (client) {
      client.close(code === 1000 ? 1000 : 1011, code === 1000 ? "" : "backend stream broke");
      return;
    }
    if (!answer)
      settle({
        failure: `the node closed the stream (${reason || code})`,
        status: 502,
        reachedPod: true,
      });
    try {
      if (code === 1000) controller.close();
      else controller.error(new Error(`stream to pod ${target.pod} broke: ${reason}`));
    } catch {
      // already closed
    }
  };
  send(new TextEncoder().encode(JSON.stringify(requestHead)));
  void pumpBody(send, body, limits.maxBodyBytes).then(
    (ok) => {
      if (ok) return;
      settle({ failure: "request body too large", status: 413, reachedPod: true });
      ws.close(1000, "request body too large");
    },
    () => ws.close(1000, "request body failed"),
  );
  return outcome;
}
