import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import {
  creditPayload,
  decodeFrame,
  encodeFrame,
  MAX_FRAME_PAYLOAD,
  STREAM_WINDOW,
  StreamOp,
  type StreamOpen,
  streamWindow,
} from "../../durable-objects/tunnel/protocol.ts";
import { realClock } from "./clock.ts";
import { type AgentStream, TunnelClient } from "./tunnel.ts";

let server: WebSocketServer | undefined;
let client: TunnelClient | undefined;
afterEach(async () => {
  client?.stop();
  await new Promise((r) => server?.close(r));
});

describe("tunnel client", () => {
  it("does not offer permessage-deflate (relayed bytes would be compressed twice over)", async () => {
    // A server that would accept compression if it were offered.
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const upgraded = once(server, "connection") as Promise<[unknown, IncomingMessage]>;
    client = new TunnelClient({
      server: `http://127.0.0.1:${port}`,
      node: "n1",
      token: "t",
      clock: realClock,
      logs: async () => {},
    });
    client.start();
    const [, request] = await upgraded;
    expect(request.headers["sec-websocket-extensions"]).toBeUndefined();
  });

  it("sends its frames with an all-zero masking key (no masking pass over relayed bytes)", async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const upgraded = once(server, "connection") as Promise<[WebSocket, IncomingMessage]>;
    client = new TunnelClient({
      server: `http://127.0.0.1:${port}`,
      node: "n1",
      token: "t",
      clock: realClock,
      logs: async () => {},
    });
    client.start();
    const [ws, request] = await upgraded;
    // The raw bytes, before ws unmasks them: the agent's first frame answers the logs stream opened below.
    const raw = once(request.socket as Socket, "data") as Promise<[Buffer]>;
    ws.send(
      JSON.stringify({
        type: "open",
        stream: 7,
        kind: "logs",
        namespace: "d",
        name: "p",
        uid: "u",
        container: "c",
        query: [],
        protocol: "",
      }),
    );
    const [bytes] = await raw;
    // FIN + binary, MASK bit set (RFC 6455 still requires it from a client), then the 4-byte key.
    expect([bytes[0], bytes[1] & 0x80]).toEqual([0x82, 0x80]);
    expect([...bytes.subarray(2, 6)]).toEqual([0, 0, 0, 0]);
  });

  it("sends a stream's window and then waits for credit: 1 MiB on logs, 4 MiB with a client socket; parts arrive as one message", async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const upgraded = once(server, "connection") as Promise<[WebSocket]>;
    // The handler sends whole frames until the window stops it, each made of two parts.
    const head = Uint8Array.of(1, 2, 3);
    const body = new Uint8Array(MAX_FRAME_PAYLOAD - head.byteLength).fill(9);
    const sending = async (stream: AgentStream) => {
      // send returns at once on an aborted stream: stop there.
      while (!stream.signal.aborted) await stream.send(head, body);
    };
    client = new TunnelClient({
      server: `http://127.0.0.1:${port}`,
      node: "n1",
      token: "t",
      clock: realClock,
      logs: async () => {},
      streams: { portforward: sending },
    });
    client.start();
    const [ws] = await upgraded;
    const open: StreamOpen = {
      type: "open",
      stream: 3,
      kind: "portforward",
      namespace: "d",
      name: "p",
      uid: "u",
      container: "",
      query: [],
      protocol: "",
    };
    let received = 0;
    let credited = 0;
    const window = streamWindow("portforward");
    // Resolves when `target` bytes came; fails as soon as more came than the window and credit allow.
    let waiter: { target: number; resolve: () => void; reject: (e: Error) => void } | undefined;
    const reached = (target: number) =>
      new Promise<void>((resolve, reject) => {
        waiter = { target, resolve, reject };
      });
    ws.on("message", (data: Buffer) => {
      const frame = decodeFrame(data);
      if (frame?.op !== StreamOp.DATA) return;
      expect([...frame.payload.subarray(0, 4)]).toEqual([1, 2, 3, 9]);
      received += frame.payload.byteLength;
      if (received > window + credited)
        waiter?.reject(new Error(`${received} bytes sent on ${credited} credit`));
      else if (received === waiter?.target) waiter.resolve();
    });
    const filled = reached(window);
    ws.send(JSON.stringify(open));
    await filled;
    // One more frame's worth of credit lets exactly one more frame out.
    credited = MAX_FRAME_PAYLOAD;
    const more = reached(window + credited);
    ws.send(encodeFrame(StreamOp.CREDIT, 3, creditPayload(credited)));
    await more;
    expect(window).toBe(4 * STREAM_WINDOW);
    expect(streamWindow("logs")).toBe(STREAM_WINDOW);
    ws.send(encodeFrame(StreamOp.RESET, 3));
  });
});
