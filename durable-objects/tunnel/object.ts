/**
 * One Durable Object per node: holds the agent's outbound WebSocket
 * (hibernatable: ctx.acceptWebSocket, so an idle tunnel costs nothing) and
 * relays requests to it: `kubectl logs` (JSON frames) and tunnel v2 streams
 * (exec, attach, portforward): the object accepts the client's WebSocket
 * itself (hibernatable, tagged "s:<id>") and relays its messages as binary
 * frames (protocol.ts). Routing lives only in tags, so streams survive the
 * object hibernating; the agent's send window is refilled (CREDIT) as the
 * object hands bytes on, so the object never holds more than one window per
 * stream. A request while no agent is connected fails at once with 503
 * ServiceUnavailable instead of hanging.
 */
import { DurableObject } from "cloudflare:workers";
import { ApiError, type Status } from "../../workers/client/status.ts";
import type { LogsRequest, StreamOpen, TunnelReply, TunnelRequest } from "./protocol.ts";
import { creditPayload, decodeFrame, encodeFrame, StreamOp } from "./protocol.ts";

/** Header carrying the JSON stream spec (workers/tunnel/streams.ts STREAM_SPEC_HEADER). */
const STREAM_SPEC_HEADER = "X-Edgeplane-Stream";

/** What a client socket's attachment records. */
interface ClientAttachment {
  stream: number;
  kind: string;
}

/** How long the agent has to answer a request before it counts as unreachable. */
const START_TIMEOUT_MS = 15_000;

/** Replies held back waiting for an earlier one (beyond this the stream is failed, not buffered on). */
const MAX_EARLY = 1000;

interface PendingStream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  start: (status?: Status) => void;
  started: boolean;
  /** The seq of the next reply to act on, and the later ones that arrived first. */
  next: number;
  early: Map<number, TunnelReply>;
}

function statusResponse(error: ApiError): Response {
  return new Response(JSON.stringify(error.toStatus()), {
    status: error.code,
    headers: { "Content-Type": "application/json" },
  });
}

/** The per-node tunnel. */
export class TunnelObject extends DurableObject {
  /** In-flight streams; a request keeps the object awake, so this survives until it ends. */
  private streams = new Map<string, PendingStream>();
  private encoder = new TextEncoder();

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const upgrade = (request.headers.get("Upgrade") ?? "").toLowerCase() === "websocket";
    if (upgrade && url.pathname === "/stream") return this.openStream(request);
    if (upgrade) return this.accept(request);
    if (url.pathname === "/logs" && request.method === "POST") return this.logs(request);
    if (url.pathname === "/status") return Response.json({ connected: this.agent() !== undefined });
    return statusResponse(new ApiError("NotFound", `no tunnel route ${url.pathname}`));
  }

  /** Accept the agent's WebSocket; a newer connection replaces an older one. */
  private accept(request: Request): Response {
    const node = request.headers.get("X-Edgeplane-Node") ?? "";
    for (const old of this.ctx.getWebSockets("agent")) old.close(1012, "replaced by a newer connection");
    // The old connection's streams died with it.
    this.closeClients(1011, "node agent reconnected");
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], ["agent"]);
    pair[1].serializeAttachment({ node, connectedAt: new Date().toISOString() });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  private agent(): WebSocket | undefined {
    return this.ctx.getWebSockets("agent").find((ws) => ws.readyState === WebSocket.OPEN);
  }

  /** Relay a logs request; the response streams as the agent sends data. */
  private async logs(request: Request): Promise<Response> {
    const body = (await request.json()) as Omit<LogsRequest, "type" | "id">;
    const ws = this.agent();
    if (!ws)
      return statusResponse(
        new ApiError(
          "ServiceUnavailable",
          `node "${body.node ?? ""}" is not connected: cannot stream logs of pod "${body.name}"`,
        ),
      );
    const id = crypto.randomUUID();
    let start!: (status?: Status) => void;
    const started = new Promise<Status | undefined>((resolve) => {
      start = resolve;
    });
    // Chunks are pushed as the agent sends them (enqueue never blocks on the reader).
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.streams.set(id, { controller, start, started: false, next: 0, early: new Map() });
      },
      cancel: () => {
        // The reader went away (kubectl ^C): stop the agent's stream.
        if (this.streams.delete(id)) this.agent()?.send(JSON.stringify({ type: "cancel", id }));
      },
    });
    const message: TunnelRequest = { type: "logs", id, ...body };
    ws.send(JSON.stringify(message));
    const timer = setTimeout(
      () =>
        this.fail(
          id,
          new ApiError(
            "Timeout",
            `node did not answer the logs request for pod "${body.name}" in time`,
          ).toStatus(),
        ),
      START_TIMEOUT_MS,
    );
    const status = await started;
    clearTimeout(timer);
    if (status)
      return new Response(JSON.stringify(status), {
        status: status.code,
        headers: { "Content-Type": "application/json" },
      });
    return new Response(readable, {
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        // Compression would buffer a followed log: ask every hop to pass it through as is.
        "Cache-Control": "no-cache, no-transform",
        "Content-Encoding": "identity",
      },
    });
  }

  /** Accept a client's WebSocket as a new stream and ask the agent to serve it. */
  private openStream(request: Request): Response {
    const spec = JSON.parse(request.headers.get(STREAM_SPEC_HEADER) ?? "{}") as Omit<
      StreamOpen,
      "type" | "stream"
    >;
    const agent = this.agent();
    if (!agent)
      return statusResponse(
        new ApiError(
          "ServiceUnavailable",
          `the node of pod "${spec.name}" is not connected: cannot ${spec.kind}`,
        ),
      );
    const used = new Set(
      this.ctx.getWebSockets("client").map((ws) => (ws.deserializeAttachment() as ClientAttachment).stream),
    );
    let stream = 0;
    do stream = crypto.getRandomValues(new Uint32Array(1))[0];
    while (stream === 0 || used.has(stream));
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], ["client", `s:${stream}`]);
    pair[1].serializeAttachment({ stream, kind: spec.kind } satisfies ClientAttachment);
    const open: StreamOpen = { type: "open", stream, ...spec };
    agent.send(JSON.stringify(open));
    const headers = new Headers();
    if (spec.protocol) headers.set("Sec-WebSocket-Protocol", spec.protocol);
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  private client(stream: number): WebSocket | undefined {
    return this.ctx.getWebSockets(`s:${stream}`)[0];
  }

  private closeClients(code: number, why: string): void {
    for (const ws of this.ctx.getWebSockets("client"))
      try {
        ws.close(code, why);
      } catch {
        // already closed
      }
  }

  /** A binary frame from the agent: relay it to its client socket and refill the agent's window. */
  private agentFrame(agent: WebSocket, data: ArrayBuffer): void {
    const frame = decodeFrame(data);
    if (!frame) return;
    const client = this.client(frame.stream);
    if (!client) {
      if (frame.op !== StreamOp.RESET) agent.send(encodeFrame(StreamOp.RESET, frame.stream));
      return;
    }
    try {
      if (frame.op === StreamOp.DATA) {
        client.send(frame.payload);
        agent.send(encodeFrame(StreamOp.CREDIT, frame.stream, creditPayload(frame.payload.byteLength)));
      } else if (frame.op === StreamOp.END) client.close(1000, "");
      else if (frame.op === StreamOp.RESET)
        client.close(1011, new TextDecoder().decode(frame.payload).slice(0, 120) || "stream reset by node");
    } catch {
      // The client is gone: its close handler resets the stream.
    }
  }

  /** A message from a client socket: one DATA frame to the agent. */
  private clientMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const { stream } = ws.deserializeAttachment() as ClientAttachment;
    const agent = this.agent();
    if (!agent) {
      ws.close(1011, "node agent disconnected");
      return;
    }
    const payload = typeof message === "string" ? new TextEncoder().encode(message) : new Uint8Array(message);
    agent.send(encodeFrame(StreamOp.DATA, stream, payload));
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (this.ctx.getTags(ws).includes("client")) return this.clientMessage(ws, message);
    if (typeof message !== "string") return this.agentFrame(ws, message);
    let reply: TunnelReply;
    try {
      reply = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      return;
    }
    const stream = this.streams.get(reply.id);
    if (stream && typeof reply.seq === "number") {
      // Act on a stream's replies in the order the agent sent them, holding early ones back.
      stream.early.set(reply.seq, reply);
      if (stream.early.size > MAX_EARLY) {
        this.fail(
          reply.id,
          new ApiError("InternalError", "node agent's log stream lost a message").toStatus(),
        );
        return;
      }
      for (let next = stream.early.get(stream.next); next; next = stream.early.get(stream.next)) {
        stream.early.delete(stream.next);
        stream.next++;
        this.handle(ws, next);
      }
      return;
    }
    this.handle(ws, reply);
  }

  private handle(ws: WebSocket, reply: TunnelReply): void {
    const stream = this.streams.get(reply.id);
    if (!stream) {
      // A stream this object no longer knows (it restarted, or the reader left): tell the agent to stop.
      if (reply.type !== "end" && reply.type !== "error")
        ws.send(JSON.stringify({ type: "cancel", id: reply.id }));
      return;
    }
    switch (reply.type) {
      case "start":
        stream.started = true;
        stream.start();
        break;
      case "data":
        if (!stream.started) {
          stream.started = true;
          stream.start();
        }
        try {
          stream.controller.enqueue(this.encoder.encode(reply.data));
        } catch {
          this.streams.delete(reply.id);
          ws.send(JSON.stringify({ type: "cancel", id: reply.id }));
        }
        break;
      case "end":
        this.streams.delete(reply.id);
        stream.start();
        try {
          stream.controller.close();
        } catch {
          // already closed by a cancel
        }
        break;
      case "error":
        this.fail(reply.id, reply.status);
        break;
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    if (this.ctx.getTags(ws).includes("client")) {
      // The client left: stop the agent's side of its stream.
      const { stream } = ws.deserializeAttachment() as ClientAttachment;
      this.agent()?.send(encodeFrame(StreamOp.RESET, stream));
    } else {
      this.dropAll("node agent disconnected");
      if (!this.agent()) this.closeClients(1011, "node agent disconnected");
    }
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    if (this.ctx.getTags(ws).includes("client")) return;
    this.dropAll("node agent connection failed");
  }

  private fail(id: string, status: Status): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    this.streams.delete(id);
    if (!stream.started) stream.start(status);
    // Already streaming: end the body (a dropped node ends `kubectl logs -f` like a dropped kubelet does).
    else
      try {
        stream.controller.close();
      } catch {
        // already closed
      }
  }

  private dropAll(why: string): void {
    if (this.agent()) return;
    for (const id of [...this.streams.keys()])
      this.fail(id, new ApiError("ServiceUnavailable", why).toStatus());
  }
}
