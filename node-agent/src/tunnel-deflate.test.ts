import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { realClock } from "./clock.ts";
import { TunnelClient } from "./tunnel.ts";

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
});
