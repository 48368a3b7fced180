/**
 * One Durable Object per node: holds the agent's outbound WebSocket
 * (hibernatable: ctx.acceptWebSocket, so an idle tunnel costs nothing) and
 * relays requests to it — today `kubectl logs`. A request while no agent is
 * connected fails at once with 503 ServiceUnavailable instead of hanging.
 */
import { DurableObject } from "cloudflare:workers";
import { ApiError, type Status } from "../../workers/client/status.ts";
import type { LogsRequest, TunnelReply, TunnelRequest } from "./protocol.ts";

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

/** The per-node tunnel. */
export class TunnelObject extends DurableObject {
  /** In-flight streams; a request keeps the object awake, so this survives until it ends. */
  private streams = new Map<string, PendingStream>();
  private encoder = new TextEncoder();

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if ((request.headers.get("Upgrade") ?? "").toLowerCase() === "websocket") return this.accept(request);
    if (url.pathname === "/logs" && request.method === "POST") return this.logs(request);
    if (url.pathname === "/status") return Response.json({ connected: this.agent() !== undefined });
    return new ApiError("NotFound", `no tunnel route ${url.pathname}`).toResponse();
  }

  /** Accept the agent's WebSocket; a newer connection replaces an older one. */
  private accept(request: Request): Response {
    const node = request.headers.get("X-Edgeplane-Node") ?? "";
    for (const old of this.ctx.getWebSockets("agent")) old.close(1012, "replaced by a newer connection");
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
      return new ApiError(
        "ServiceUnavailable",
        `node "${body.node ?? ""}" is not connected: cannot stream logs of pod "${body.name}"`,
      ).toResponse();
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

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
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
    this.dropAll("node agent disconnected");
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  override async webSocketError(): Promise<void> {
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
