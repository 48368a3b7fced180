/**
 * One Durable Object per node: holds the agent's outbound WebSocket
 * (hibernatable: ctx.acceptWebSocket, so an idle tunnel costs nothing) and
 * relays tunnel v2 streams (protocol.ts) to it. `kubectl logs`: the object
 * answers the HTTP request with a body fed by the stream, and refills the
 * agent's window only as the reader pulls, so a slow reader holds at most one
 * window here. exec, attach, portforward: the object accepts the client's WebSocket
 * itself (hibernatable, tagged "s:<id>") and relays its messages as binary
 * frames (protocol.ts). Routing lives only in tags, so streams survive the
 * object hibernating; the agent's send window is refilled (CREDIT) as the
 * object hands bytes on, so the object never holds more than one window per
 * stream. A request while no agent is connected fails at once with 503
 * ServiceUnavailable instead of hanging.
 */
import { DurableObject } from "cloudflare:workers";
import { ApiError, type Status } from "../../workers/client/status.ts";
import type { LogsRequest, StreamFrame, StreamOpen } from "./protocol.ts";
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

/** Frames of one stream that arrived before an earlier one, beyond which the stream is failed. */
const MAX_EARLY = 1000;

/** Where a stream's agent frames are in their order. */
interface FrameOrder {
  next: number;
  early: Map<number, StreamFrame>;
}

/** A logs request's body stream while the object relays it. */
interface LogStream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  start: (status?: Status) => void;
  started: boolean;
  /** Bytes received but not yet credited back (credited when the reader pulls). */
  owed: number;
  /** Bytes enqueued and not yet read (the debug counter of what this object buffers). */
  buffered: number;
}

/** The per-node tunnel. */
export class TunnelObject extends DurableObject {
  /** In-flight logs streams; a request keeps the object awake, so this survives until it ends. */
  private logStreams = new Map<number, LogStream>();
  /**
   * Per stream, the agent frames' order. In memory only: after the object
   * wakes from hibernation a stream's next frame is taken as it comes (an
   * idle stream has nothing in flight to reorder).
   */
  private order = new Map<number, FrameOrder>();
  /**
   * The sockets by role, remembered so that a relayed frame costs no
   * getWebSockets/getTags call (a bulk transfer is thousands of frames). In
   * memory only: after a wake-up from hibernation they are found again by
   * their tags on first use.
   */
  private agentSocket?: WebSocket;
  private clients = new Map<number, WebSocket>();

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const upgrade = (request.headers.get("Upgrade") ?? "").toLowerCase() === "websocket";
    if (upgrade && url.pathname === "/stream") return this.openStream(request);
    if (upgrade) return this.accept(request);
    if (url.pathname === "/logs" && request.method === "POST") return this.logs(request);
    if (url.pathname === "/status")
      return Response.json({
        connected: this.agent() !== undefined,
        // Bytes of logs held for slow readers: bounded by STREAM_WINDOW per stream.
        bufferedLogBytes: [...this.logStreams.values()].reduce((n, l) => n + l.buffered, 0),
      });
    return new ApiError("NotFound", `no tunnel route ${url.pathname}`).toResponse();
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
    this.agentSocket = pair[1];
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  private agent(): WebSocket | undefined {
    if (this.agentSocket?.readyState === WebSocket.OPEN) return this.agentSocket;
    this.agentSocket = this.ctx.getWebSockets("agent").find((ws) => ws.readyState === WebSocket.OPEN);
    return this.agentSocket;
  }

  /** A stream id not in use by a client socket or a logs stream. */
  private newStreamId(): number {
    const used = new Set(
      this.ctx.getWebSockets("client").map((ws) => (ws.deserializeAttachment() as ClientAttachment).stream),
    );
    let stream = 0;
    do stream = crypto.getRandomValues(new Uint32Array(1))[0];
    while (stream === 0 || used.has(stream) || this.logStreams.has(stream));
    return stream;
  }

  /**
   * Relay a logs request as a "logs" stream. The agent sends an empty DATA
   * once the log is found (or RESET with a JSON Status), then the text.
   */
  private async logs(request: Request): Promise<Response> {
    const body = (await request.json()) as Omit<LogsRequest, "type" | "id">;
    const ws = this.agent();
    if (!ws)
      return new ApiError(
        "ServiceUnavailable",
        `node "${body.node ?? ""}" is not connected: cannot stream logs of pod "${body.name}"`,
      ).toResponse();
    const id = this.newStreamId();
    this.order.set(id, { next: 0, early: new Map() });
    let start!: (status?: Status) => void;
    const started = new Promise<Status | undefined>((resolve) => {
      start = resolve;
    });
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.logStreams.set(id, { controller, start, started: false, owed: 0, buffered: 0 });
        },
        // The reader drained what we held: let the agent send that much more.
        pull: () => {
          const stream = this.logStreams.get(id);
          if (!stream || stream.owed === 0) return;
          this.agent()?.send(encodeFrame(StreamOp.CREDIT, id, creditPayload(stream.owed)));
          stream.owed = 0;
          stream.buffered = 0;
        },
        cancel: () => {
          // The reader went away (kubectl ^C): stop the agent's stream.
          if (this.logStreams.delete(id)) this.agent()?.send(encodeFrame(StreamOp.RESET, id));
        },
      },
      // Pull only when a read waits on an empty queue: credit follows the reader, not the agent.
      { highWaterMark: 0 },
    );
    const open: StreamOpen = {
      type: "open",
      stream: id,
      kind: "logs",
      namespace: body.namespace,
      name: body.name,
      uid: body.uid,
      container: body.container,
      query: Object.entries(body.query),
      protocol: "",
    };
    ws.send(JSON.stringify(open));
    const timer = setTimeout(
      () =>
        this.failLogs(
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

  /** A frame of a logs stream. */
  private logFrame(agent: WebSocket, stream: LogStream, id: number, op: number, payload: Uint8Array): void {
    if (op === StreamOp.DATA) {
      if (!stream.started) {
        stream.started = true;
        stream.start();
      }
      if (payload.byteLength === 0) return;
      try {
        stream.controller.enqueue(payload.slice());
        stream.owed += payload.byteLength;
        stream.buffered += payload.byteLength;
      } catch {
        this.logStreams.delete(id);
        agent.send(encodeFrame(StreamOp.RESET, id));
      }
    } else if (op === StreamOp.END) {
      this.logStreams.delete(id);
      stream.start();
      try {
        stream.controller.close();
      } catch {
        // already closed by a cancel
      }
    } else if (op === StreamOp.RESET) {
      let status: Status;
      try {
        status = JSON.parse(new TextDecoder().decode(payload)) as Status;
      } catch {
        status = new ApiError("InternalError", "the node agent aborted the log stream").toStatus();
      }
      this.failLogs(id, status);
    }
  }

  /** Accept a client's WebSocket as a new stream and ask the agent to serve it. */
  private openStream(request: Request): Response {
    const spec = JSON.parse(request.headers.get(STREAM_SPEC_HEADER) ?? "{}") as Omit<
      StreamOpen,
      "type" | "stream"
    >;
    const agent = this.agent();
    if (!agent)
      return new ApiError(
        "ServiceUnavailable",
        `the node of pod "${spec.name}" is not connected: cannot ${spec.kind}`,
      ).toResponse();
    const stream = this.newStreamId();
    this.order.set(stream, { next: 0, early: new Map() });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], ["client", `s:${stream}`]);
    pair[1].serializeAttachment({ stream, kind: spec.kind } satisfies ClientAttachment);
    this.clients.set(stream, pair[1]);
    const open: StreamOpen = { type: "open", stream, ...spec };
    agent.send(JSON.stringify(open));
    const headers = new Headers();
    if (spec.protocol) headers.set("Sec-WebSocket-Protocol", spec.protocol);
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  private client(stream: number): WebSocket | undefined {
    const known = this.clients.get(stream);
    if (known?.readyState === WebSocket.OPEN) return known;
    this.clients.delete(stream);
    const found = this.ctx.getWebSockets(`s:${stream}`)[0];
    if (found) this.clients.set(stream, found);
    return found;
  }

  private closeClients(code: number, why: string): void {
    this.clients.clear();
    for (const ws of this.ctx.getWebSockets("client"))
      try {
        ws.close(code, why);
      } catch {
        // already closed
      }
  }

  /** A binary frame from the agent: act on its stream's frames in the agent's order. */
  private agentFrame(agent: WebSocket, data: ArrayBuffer): void {
    const frame = decodeFrame(data);
    if (!frame) return;
    // Looked up once per frame (a getWebSockets call), not once more per relayed frame.
    const client = this.logStreams.has(frame.stream) ? undefined : this.client(frame.stream);
    if (!this.logStreams.has(frame.stream) && !client) {
      this.order.delete(frame.stream);
      if (frame.op !== StreamOp.RESET) agent.send(encodeFrame(StreamOp.RESET, frame.stream));
      return;
    }
    let order = this.order.get(frame.stream);
    if (!order) {
      order = { next: frame.seq, early: new Map() };
      this.order.set(frame.stream, order);
    }
    order.early.set(frame.seq, frame);
    if (order.early.size > MAX_EARLY) {
      this.order.delete(frame.stream);
      agent.send(encodeFrame(StreamOp.RESET, frame.stream));
      this.failLogs(
        frame.stream,
        new ApiError("InternalError", "node agent's stream lost a frame").toStatus(),
      );
      this.client(frame.stream)?.close(1011, "node agent's stream lost a frame");
      return;
    }
    for (let next = order.early.get(order.next); next; next = order.early.get(order.next)) {
      order.early.delete(order.next);
      order.next++;
      this.relayFrame(agent, next, client);
    }
    if (frame.op !== StreamOp.DATA && order.early.size === 0) this.order.delete(frame.stream);
  }

  /** Relay one agent frame (in order) to its logs reader or `client` socket; refill the agent's window. */
  private relayFrame(agent: WebSocket, frame: StreamFrame, client: WebSocket | undefined): void {
    const logs = this.logStreams.get(frame.stream);
    if (logs) {
      this.logFrame(agent, logs, frame.stream, frame.op, frame.payload);
      return;
    }
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
    // The agent's socket is the one most messages come from: known without asking for its tags.
    if (ws !== this.agentSocket && this.ctx.getTags(ws).includes("client"))
      return this.clientMessage(ws, message);
    if (typeof message !== "string") this.agentFrame(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    if (this.ctx.getTags(ws).includes("client")) {
      // The client left: stop the agent's side of its stream.
      const { stream } = ws.deserializeAttachment() as ClientAttachment;
      this.clients.delete(stream);
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

  private failLogs(id: number, status: Status): void {
    const stream = this.logStreams.get(id);
    if (!stream) return;
    this.logStreams.delete(id);
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
    for (const id of [...this.logStreams.keys()])
      this.failLogs(id, new ApiError("ServiceUnavailable", why).toStatus());
  }
}
