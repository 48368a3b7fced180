/**
 * pods/portforward on the agent: the tunnel brings the client's WebSocket
 * messages as one stream; this speaks the client's protocol and connects to
 * the pod's IP (every pod, container or WASM, has one on the node's bridge,
 * so podIP:port reaches the pod's own network namespace as CRI PortForward
 * does). Two protocols:
 * - `SPDY/3.1+portforward.k8s.io` (kubectl 1.31+, 1.30 with
 *   KUBECTL_PORT_FORWARD_WEBSOCKETS=true): a SPDY/3.1 connection; per local
 *   connection the client opens an error and a data stream with headers
 *   streamType, port and requestID (portforward.k8s.io v1 semantics).
 * - `v4.channel.k8s.io` (web clients): `?ports=` list, channel 2i = data and
 *   2i+1 = error of port i, each channel's first message starts with the port
 *   as little-endian u16; one connection per port for the socket's life.
 */
import { connect as netConnect, type Socket, type TcpNetConnectOpts } from "node:net";
import { MAX_FRAME_PAYLOAD, type StreamOpen } from "../../../durable-objects/tunnel/protocol.ts";
import { FrameBuffers } from "../frame-buffers.ts";
import type { AgentStream, StreamHandler } from "../tunnel.ts";
import { socketPump } from "./socket-pump.ts";
import {
  controlFrame,
  dataFrame,
  dataFrameHeader,
  FLAG_FIN,
  FrameParser,
  FrameType,
  HeaderCodec,
  RstStatus,
  rstStream,
  type SpdyFrame,
  streamIdOf,
} from "./spdy-codec.ts";

/** The subprotocol of SPDY tunnelled in a WebSocket (kubectl's default since 1.31). */
export const SPDY_PORTFORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
/** The channel WebSocket protocol for port-forward (web clients). */
export const V4_CHANNEL_PROTOCOL = "v4.channel.k8s.io";

/** Bytes of TCP data per message towards the client (the tunnel's MAX_FRAME_PAYLOAD, less headers). */
const CHUNK = MAX_FRAME_PAYLOAD - 16;

/** What the port-forward handler needs. */
export interface PortForwardOptions {
  /** The IP of the pod a stream is for, when it runs here and has one. */
  podIP(open: StreamOpen): string | undefined;
  /** Open a TCP connection (injected so tests can count or refuse connections); pass `onread` on. */
  connect?: (options: TcpNetConnectOpts) => Socket;
}

/** The `portforward` stream handler for the tunnel client. */
export function portForwardHandler(options: PortForwardOptions): StreamHandler {
  const connect = options.connect ?? netConnect;
  // Messages gathered from pod sockets, reused (each is copied into its tunnel frame, then free).
  const buffers = new FrameBuffers(CHUNK, 16);
  return async (stream) => {
    const target: Target = (port, emit) => {
      const ip = options.podIP(stream.open);
      if (!ip) throw new Error(`pod ${stream.open.namespace}/${stream.open.name} has no IP on this node`);
      const pump = socketPump(CHUNK, buffers, emit);
      const socket = connect({ port, host: ip, noDelay: true, onread: pump.onread });
      pump.attach(socket);
      return socket;
    };
    if (stream.open.protocol === V4_CHANNEL_PROTOCOL) return serveChannels(stream, target);
    if (stream.open.protocol === SPDY_PORTFORWARD_PROTOCOL) return serveSpdy(stream, target);
    throw new Error(`port-forward does not speak subprotocol "${stream.open.protocol}"`);
  };
}

/**
 * Connect to the pod's `port`, relaying what it sends to `emit` in messages
 * (socket-pump.ts); listeners added to the socket come after the pump's.
 */
type Target = (port: number, emit: (message: Buffer) => Promise<void>) => Socket;

/** kube's message for a failed forward (kubectl prints it after "an error occurred forwarding"). */
function forwardError(open: StreamOpen, port: number, error: unknown): string {
  return `error forwarding port ${port} to pod ${open.namespace}/${open.name}, uid ${open.uid}: ${(error as Error).message}`;
}

/** One message, whole or as the parts it is made of (the tunnel copies them into its frame once). */
type Message = Uint8Array | Uint8Array[];

/** A serialised writer to the stream: messages leave in the order they were queued; idle() waits for all. */
function sender(stream: AgentStream) {
  let tail: Promise<void> = Promise.resolve();
  const send = (make: () => Message | Promise<Message>): Promise<void> => {
    tail = tail
      .then(async () => {
        const message = await make();
        return Array.isArray(message) ? stream.send(...message) : stream.send(message);
      })
      .catch(() => {});
    return tail;
  };
  return Object.assign(send, { idle: () => tail });
}

/** Write to a socket, waiting for it to drain when its buffer is full (back-pressure to the tunnel). */
async function writeTo(socket: Socket, data: Uint8Array): Promise<void> {
  if (socket.destroyed || socket.writableEnded) return;
  if (socket.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

/** One client connection of a SPDY port-forward: its two streams and the TCP connection. */
interface Forward {
  /** Its requestID (or port, for clients that send none). */
  key: string;
  port: number;
  data?: number;
  error?: number;
  socket?: Socket;
  /** Data that arrived before the connection was made. */
  pending: Uint8Array[];
  dataFinSent: boolean;
  errorFinSent: boolean;
  clientEnded: boolean;
}

async function serveSpdy(stream: AgentStream, target: Target): Promise<void> {
  const codec = new HeaderCodec();
  const parser = new FrameParser();
  const send = sender(stream);
  const forwards = new Map<string, Forward>();
  const byStream = new Map<number, { forward: Forward; type: "data" | "error" }>();

  const finish = (f: Forward) => {
    if (f.data !== undefined && !f.dataFinSent) {
      f.dataFinSent = true;
      const id = f.data;
      void send(() => dataFrame(id, FLAG_FIN, new Uint8Array(0)));
    }
    if (f.error !== undefined && !f.errorFinSent) {
      f.errorFinSent = true;
      const id = f.error;
      void send(() => dataFrame(id, FLAG_FIN, new Uint8Array(0)));
    }
  };

  // A finished connection's entries go, so a long session does not grow with every connection it made.
  const forget = (f: Forward) => {
    if (forwards.get(f.key) === f) forwards.delete(f.key);
    for (const id of [f.data, f.error])
      if (id !== undefined && byStream.get(id)?.forward === f) byStream.delete(id);
  };

  const start = (f: Forward) => {
    const dataId = f.data as number;
    let socket: Socket;
    try {
      socket = target(f.port, (message) => send(() => [dataFrameHeader(dataId, 0, message.length), message]));
    } catch (error) {
      reportError(f, error);
      forget(f);
      return;
    }
    f.socket = socket;
    socket.on("error", (error) => reportError(f, error));
    socket.on("end", () => {
      if (!f.dataFinSent) {
        f.dataFinSent = true;
        void send(() => dataFrame(dataId, FLAG_FIN, new Uint8Array(0)));
      }
    });
    socket.on("close", () => {
      finish(f);
      forget(f);
    });
    for (const data of f.pending.splice(0)) void writeTo(socket, data);
    if (f.clientEnded) socket.end();
  };

  const reportError = (f: Forward, error: unknown) => {
    if (f.error !== undefined && !f.errorFinSent) {
      const id = f.error;
      const message = new TextEncoder().encode(forwardError(stream.open, f.port, error));
      void send(() => dataFrame(id, 0, message));
    }
    finish(f);
  };

  const onSynStream = async (frame: Extract<SpdyFrame, { control: true }>) => {
    const id = streamIdOf(frame.payload);
    const headers = await codec.decode(frame.payload.subarray(10));
    const one = (name: string) => headers.get(name)?.[0] ?? "";
    const type = one("streamtype");
    const port = Number(one("port"));
    const requestId = one("requestid");
    if ((type !== "data" && type !== "error") || !Number.isInteger(port) || port < 1 || port > 65535) {
      void send(() => rstStream(id, RstStatus.PROTOCOL_ERROR));
      return;
    }
    // Every stream gets its SYN_REPLY (spdystream's CreateStream waits for it), headers empty.
    void send(async () => {
      const block = await codec.encode(new Map());
      const payload = new Uint8Array(4 + block.byteLength);
      new DataView(payload.buffer).setUint32(0, id);
      payload.set(block, 4);
      return controlFrame(FrameType.SYN_REPLY, 0, payload);
    });
    // Old clients send no requestID: then the port pairs the streams, one connection at a time.
    const key = requestId || `port:${port}`;
    let f = forwards.get(key);
    if (!f) {
      f = { key, port, pending: [], dataFinSent: false, errorFinSent: false, clientEnded: false };
      forwards.set(key, f);
    }
    f[type] = id;
    byStream.set(id, { forward: f, type });
    if (type === "data" && frame.flags & FLAG_FIN) f.clientEnded = true;
    if (f.data !== undefined && f.error !== undefined && !f.socket) start(f);
  };

  try {
    for (;;) {
      const message = await stream.read();
      if (!message) break;
      for (const frame of parser.push(message)) {
        if (!frame.control) {
          const entry = byStream.get(frame.stream);
          if (!entry) {
            // A late FIN for a finished connection is normal; data for an unknown stream is not.
            if (frame.data.byteLength > 0) void send(() => rstStream(frame.stream, RstStatus.INVALID_STREAM));
            continue;
          }
          if (entry.type === "data") {
            const f = entry.forward;
            if (frame.data.byteLength > 0) {
              if (f.socket) await writeTo(f.socket, frame.data);
              else f.pending.push(Uint8Array.from(frame.data));
            }
            if (frame.flags & FLAG_FIN) {
              f.clientEnded = true;
              f.socket?.end();
            }
          }
          continue;
        }
        switch (frame.type) {
          case FrameType.SYN_STREAM:
            await onSynStream(frame);
            break;
          case FrameType.RST_STREAM: {
            const entry = byStream.get(streamIdOf(frame.payload));
            if (entry) {
              entry.forward.socket?.destroy();
              entry.forward.dataFinSent = entry.forward.errorFinSent = true;
            }
            break;
          }
          case FrameType.PING:
            void send(() => controlFrame(FrameType.PING, 0, Uint8Array.from(frame.payload)));
            break;
          case FrameType.GOAWAY:
            return;
          case FrameType.HEADERS:
            // Its block still advances the decompression context.
            await codec.decode(frame.payload.subarray(4));
            break;
          // SETTINGS, WINDOW_UPDATE: no flow control on either side (as spdystream).
        }
      }
    }
  } finally {
    for (const f of forwards.values()) f.socket?.destroy();
    await send.idle();
    codec.close();
  }
}

async function serveChannels(stream: AgentStream, target: Target): Promise<void> {
  const ports = stream.open.query
    // The API's PodPortForwardOptions say `ports`; the kubelet's own URL says `port`: take both.
    .filter(([k]) => k === "ports" || k === "port")
    .flatMap(([, v]) => v.split(","))
    .map(Number);
  const send = sender(stream);
  const frame = (channel: number, data: Uint8Array) => {
    const out = new Uint8Array(1 + data.byteLength);
    out[0] = channel;
    out.set(data, 1);
    return out;
  };
  const bad = ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
  if (ports.length === 0 || ports.length > 127 || bad !== undefined) {
    const message = ports.length === 0 ? 'query parameter "ports" is required' : `invalid port ${bad}`;
    await send(() => frame(1, new TextEncoder().encode(message)));
    return;
  }
  const sockets: Socket[] = [];
  const closed = ports.map((port, i) => {
    const le = new Uint8Array([port & 0xff, port >> 8]);
    void send(() => frame(2 * i, le));
    void send(() => frame(2 * i + 1, le));
    return new Promise<void>((resolve) => {
      let socket: Socket;
      try {
        socket = target(port, (message) => send(() => [Uint8Array.of(2 * i), message]));
      } catch (error) {
        void send(() => frame(2 * i + 1, new TextEncoder().encode(forwardError(stream.open, port, error))));
        resolve();
        return;
      }
      sockets[i] = socket;
      socket.on("error", (error) => {
        void send(() => frame(2 * i + 1, new TextEncoder().encode(forwardError(stream.open, port, error))));
      });
      socket.on("close", () => resolve());
    });
  });
  const reading = (async () => {
    for (;;) {
      const message = await stream.read();
      if (!message) break;
      if (message.byteLength < 1) continue;
      const channel = message[0];
      const socket = channel % 2 === 0 ? sockets[channel / 2] : undefined;
      if (socket && message.byteLength > 1) await writeTo(socket, message.subarray(1));
    }
    for (const s of sockets) s?.destroy();
  })();
  // Done when every port's connection closed (then the socket closes) or the client left.
  await Promise.race([Promise.all(closed), reading]);
  for (const s of sockets) s?.destroy();
  await send.idle();
}
