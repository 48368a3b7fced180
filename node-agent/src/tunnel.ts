/**
 * The agent's end of the tunnel: one outbound WebSocket to its node's
 * TunnelObject, authenticated with the agent's bearer token and the same TLS
 * trust as its API calls, reconnecting with back-off (0.5 s doubling to 30 s).
 * Serves tunnel v2 streams: logs built in, exec/attach/portforward through a
 * handler per kind.
 * Streams are opened only by the object over this authenticated socket.
 */
import WebSocket from "ws";
import type {
  LogsRequest,
  StreamKind,
  StreamOpen,
  TunnelRequest,
} from "../../durable-objects/tunnel/protocol.ts";
import {
  decodeFrame,
  encodeFrame,
  FRAME_HEADER,
  MAX_FRAME_PAYLOAD,
  readCredit,
  StreamOp,
  type StreamOpCode,
  streamWindow,
  tunnelPath,
  writeFrame,
} from "../../durable-objects/tunnel/protocol.ts";
import { ApiError } from "../../workers/client/status.ts";
import type { Clock } from "./clock.ts";
import { FrameBuffers } from "./frame-buffers.ts";

/** Serves one logs request: call (and await) send() with text chunks; resolve when done. Throw ApiError for a Status. */
export type LogsHandler = (
  request: LogsRequest,
  send: (chunk: string) => void | Promise<void>,
  signal: AbortSignal,
) => Promise<void>;

/**
 * The agent's end of one tunnel v2 stream: a duplex message channel to the
 * client (e.g. kubectl's exec WebSocket, one message per send).
 */
export interface AgentStream {
  readonly open: StreamOpen;
  /**
   * Send one message (at most MAX_FRAME_PAYLOAD bytes), given as the parts it
   * is made of (e.g. a protocol header and the socket's buffers: they are
   * copied once, into the tunnel frame); waits while the stream's
   * flow-control window is used up.
   */
  send(...message: Uint8Array[]): Promise<void>;
  /** The next client message, or undefined once the client ended its side (or the stream was reset). */
  read(): Promise<Uint8Array | undefined>;
  /** No more messages from us: the object closes the client socket normally. */
  end(): void;
  /** Aborts when the client goes away or the tunnel drops. */
  readonly signal: AbortSignal;
}

/** Serves one stream; resolve (or throw) when done: the stream is then ended. */
export type StreamHandler = (stream: AgentStream) => Promise<void>;

/** Tunnel client options. */
export interface TunnelOptions {
  server: string;
  node: string;
  token: string;
  /** CA PEM (undefined = system roots). */
  ca?: string;
  clock: Clock;
  logs: LogsHandler;
  /** Stream handlers by kind; a stream of a kind without one is reset. */
  streams?: Partial<Record<StreamKind, StreamHandler>>;
  log?: (message: string) => void;
}

/** Keeps the tunnel up until stop(). */
export class TunnelClient {
  private socket?: WebSocket;
  private readonly stopper = new AbortController();
  private readonly streams = new Map<number, StreamState>();
  private connectedWaiters: (() => void)[] = [];
  /** Large frames' buffers, reused (a 4 MiB window of 256 KiB frames is 16 of them). */
  private readonly buffers = new FrameBuffers(FRAME_HEADER + MAX_FRAME_PAYLOAD, 16);
  /** True while the WebSocket is open. */
  connected = false;

  constructor(private readonly options: TunnelOptions) {}

  /** Start connecting (returns at once). */
  start(): void {
    void this.loop();
  }

  /** Resolves once connected. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  /** Close the tunnel and stop reconnecting. */
  stop(): void {
    this.stopper.abort();
    for (const s of this.streams.values()) s.close();
    this.socket?.close(1000, "agent stopping");
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopper.signal.aborted) {
      const opened = await this.connectOnce();
      if (this.stopper.signal.aborted) return;
      failures = opened ? 0 : failures + 1;
      await this.options.clock.sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), this.stopper.signal);
    }
  }

  /** One connection's lifetime; true if it was ever open. */
  private connectOnce(): Promise<boolean> {
    const url = new URL(tunnelPath(this.options.node), this.options.server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return new Promise((resolve) => {
      let opened = false;
      const socket = new WebSocket(url, {
        headers: { Authorization: `Bearer ${this.options.token}` },
        ca: this.options.ca,
        rejectUnauthorized: true,
        handshakeTimeout: 15_000,
        // ws offers permessage-deflate by default: every relayed byte (port-forward, cp) would be
        // deflated here and inflated in workerd, which cut random-data port-forward to a fifth.
        perMessageDeflate: false,
        // An all-zero masking key, which ws sends without the masking pass (a copy and an XOR of every
        // byte: the agent's largest cost in a port-forward profile). RFC 6455 asks clients for an
        // unpredictable key so that a hostile script in a browser cannot choose the bytes a proxy sees
        // and poison its cache; the agent is not a browser, sends only its own frames, and over TLS.
        generateMask: (mask) => mask.fill(0),
      });
      this.socket = socket;
      socket.on("open", () => {
        opened = true;
        this.connected = true;
        this.options.log?.(`tunnel connected to ${url.host}`);
        for (const w of this.connectedWaiters.splice(0)) w();
      });
      socket.on("message", (data, isBinary) => {
        if (isBinary) this.onFrame(socket, toBytes(data));
        else this.onMessage(socket, data.toString());
      });
      socket.on("unexpected-response", (_req, res) => {
        this.options.log?.(`tunnel refused: HTTP ${res.statusCode}`);
        res.resume();
        socket.terminate();
      });
      socket.on("error", (error) => this.options.log?.(`tunnel: ${error.message}`));
      socket.on("close", () => {
        this.connected = false;
        for (const s of this.streams.values()) s.close();
        this.streams.clear();
        resolve(opened);
      });
    });
  }

  /** The object opened a stream: run its kind's handler, then end the stream. */
  private openStream(socket: WebSocket, open: StreamOpen): void {
    const handler =
      this.options.streams?.[open.kind] ??
      (open.kind === "logs" ? (s: AgentStream) => this.serveLogs(s) : undefined);
    if (!handler) {
      socket.send(
        encodeFrame(StreamOp.RESET, open.stream, new TextEncoder().encode(`no ${open.kind} handler`)),
      );
      return;
    }
    const stream = new StreamState(open, socket, this.buffers);
    this.streams.get(open.stream)?.close();
    this.streams.set(open.stream, stream);
    handler(stream)
      .catch((error) =>
        this.options.log?.(`stream ${open.kind} ${open.namespace}/${open.name}: ${(error as Error).message}`),
      )
      .finally(() => {
        stream.end();
        if (this.streams.get(open.stream) === stream) this.streams.delete(open.stream);
      });
  }

  private onFrame(socket: WebSocket, bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    if (!frame) return;
    const stream = this.streams.get(frame.stream);
    if (stream) stream.onFrame(frame.op, frame.payload);
    else if (frame.op !== StreamOp.RESET && frame.op !== StreamOp.CREDIT)
      socket.send(encodeFrame(StreamOp.RESET, frame.stream));
  }

  private onMessage(socket: WebSocket, text: string): void {
    let request: TunnelRequest;
    try {
      request = JSON.parse(text);
    } catch {
      return;
    }
    if (request.type === "open") this.openStream(socket, request);
  }

  /**
   * A "logs" stream: an empty message once the log is found (or RESET with a
   * JSON Status), then its text; `send` waits for credit, so a slow reader
   * slows the file reading here instead of filling the object.
   */
  private async serveLogs(stream: AgentStream): Promise<void> {
    const { open } = stream;
    const request: LogsRequest = {
      type: "logs",
      id: String(open.stream),
      node: this.options.node,
      namespace: open.namespace,
      name: open.name,
      uid: open.uid,
      container: open.container,
      query: Object.fromEntries(open.query),
    };
    let started = false;
    const start = async () => {
      if (!started) await stream.send(new Uint8Array(0));
      started = true;
    };
    const encoder = new TextEncoder();
    try {
      await this.options.logs(
        request,
        async (chunk) => {
          await start();
          const bytes = encoder.encode(chunk);
          for (let at = 0; at < bytes.byteLength; at += MAX_FRAME_PAYLOAD)
            await stream.send(bytes.subarray(at, at + MAX_FRAME_PAYLOAD));
        },
        stream.signal,
      );
      await start();
    } catch (error) {
      if (started) return;
      const status =
        error instanceof ApiError
          ? error.toStatus()
          : new ApiError("InternalError", (error as Error).message).toStatus();
      (stream as StreamState).reset(encoder.encode(JSON.stringify(status)));
    }
  }
}

/** ws hands binary messages as Buffer, ArrayBuffer or Buffer[]. */
function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** One open stream on the agent: its inbox, its send window and its abort. */
class StreamState implements AgentStream {
  private inbox: Uint8Array[] = [];
  private readers: ((m: Uint8Array | undefined) => void)[] = [];
  private inboxEnded = false;
  private credit: number;
  private creditWaiters: (() => void)[] = [];
  private ended = false;
  /** The next frame's seq (the object acts on our frames in this order). */
  private seq = 0;
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;

  constructor(
    readonly open: StreamOpen,
    private readonly socket: WebSocket,
    private readonly buffers: FrameBuffers,
  ) {
    this.credit = streamWindow(open.kind);
  }

  async send(...message: Uint8Array[]): Promise<void> {
    let length = 0;
    for (const part of message) length += part.byteLength;
    // One message = one frame: the object hands it on as one client message (protocols frame by message).
    if (length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`stream message of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
    while (this.credit < length && !this.signal.aborted)
      await new Promise<void>((resolve) => this.creditWaiters.push(resolve));
    if (this.signal.aborted || this.ended) return;
    this.credit -= length;
    this.frame(StreamOp.DATA, message, length);
  }

  read(): Promise<Uint8Array | undefined> {
    const next = this.inbox.shift();
    if (next) return Promise.resolve(next);
    if (this.inboxEnded) return Promise.resolve(undefined);
    return new Promise((resolve) => this.readers.push(resolve));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.frame(StreamOp.END, [], 0);
  }

  /** A frame from the object for this stream. */
  onFrame(op: number, payload: Uint8Array): void {
    if (op === StreamOp.DATA) this.deliver(Uint8Array.from(payload));
    else if (op === StreamOp.END) this.deliver(undefined);
    else if (op === StreamOp.CREDIT) {
      this.credit += readCredit(payload);
      for (const w of this.creditWaiters.splice(0)) w();
    } else if (op === StreamOp.RESET) this.close();
  }

  /** Abort from our side, telling the object why (`reason`: e.g. a JSON Status). */
  reset(reason: Uint8Array): void {
    if (!this.ended) this.frame(StreamOp.RESET, [reason], reason.byteLength);
    this.close();
  }

  /** Abort: the client or the tunnel went away. */
  close(): void {
    this.ended = true;
    this.controller.abort();
    this.deliver(undefined);
    for (const w of this.creditWaiters.splice(0)) w();
  }

  private deliver(message: Uint8Array | undefined): void {
    if (this.inboxEnded) return;
    if (message === undefined) {
      this.inboxEnded = true;
      for (const r of this.readers.splice(0)) r(undefined);
      return;
    }
    const reader = this.readers.shift();
    if (reader) reader(message);
    else this.inbox.push(message);
  }

  /**
   * Send a frame of `length` payload bytes made of `parts`: one unfilled
   * buffer, each byte copied once; a large one is reused once `ws` has
   * written it (its send callback).
   */
  private frame(op: StreamOpCode, parts: readonly Uint8Array[], length: number): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const { buffer, release } = this.buffers.take(FRAME_HEADER + length);
    this.socket.send(writeFrame(buffer, op, this.open.stream, parts, this.seq++), release);
  }
}
