import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
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
});
