/** The agent's ingress handler: only the stream's pod, by its IP on this node; bodies streamed both ways. */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { StreamOpen } from "../../../durable-objects/tunnel/protocol.ts";
import {
  type HttpRequestHead,
  type HttpResponseHead,
  numbered,
  WS_TEXT,
} from "../../../workers/ingress/wire.ts";
import type { AgentStream } from "../tunnel.ts";
import { httpStreamHandler } from "./http.ts";

/** The agent's end of an http stream in memory: the Worker's messages in, the handler's messages out. */
function memoryStream(port: number, uid = "u1") {
  const inbox: (Uint8Array | undefined)[] = [];
  let wake: (() => void) | undefined;
  const sent: Uint8Array[] = [];
  const stream: AgentStream = {
    open: {
      type: "open",
      stream: 1,
      kind: "http",
      namespace: "default",
      name: "web",
      uid,
      container: "",
      query: [["port", String(port)]],
      protocol: "",
    } satisfies StreamOpen,
    async send(message) {
      sent.push(Uint8Array.from(message));
    },
    async read() {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift();
    },
    end() {},
    signal: new AbortController().signal,
  };
  let k = 0;
  // The Worker's messages are numbered (wire.ts): deliver them out of order, as workerd may.
  const push = (m: Uint8Array | undefined, reversed = false) => {
    const message = m && numbered(k++, m);
    if (reversed && inbox.length > 0) inbox.splice(inbox.length - 1, 0, message);
    else inbox.push(message);
    wake?.();
  };
  const payloads = () => sent.map((m) => m.subarray(4));
  return {
    stream,
    request(head: HttpRequestHead, body: string[]) {
      push(new TextEncoder().encode(JSON.stringify(head)));
      body.forEach((b, i) => {
        push(new TextEncoder().encode(b), i === 1);
      });
      push(new Uint8Array(0));
    },
    push,
    head: () => JSON.parse(new TextDecoder().decode(payloads()[0])) as HttpResponseHead,
    body: () => Buffer.concat(payloads().slice(1)).toString(),
    payloads,
    sent,
  };
}

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise((r) => s.close(r));
});

/** A "pod" listening on 127.0.0.1 that echoes what it got. */
async function pod(): Promise<number> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      res.writeHead(201, { "X-Seen-Host": req.headers.host ?? "", Connection: "close", "X-Hop": "1" });
      res.end(`${req.method} ${req.url} ${body} ${req.headers["x-forwarded-host"]}`);
    });
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

describe("ingress http streams on the agent", () => {
  it("sends the request to the pod's own IP and relays the answer, without hop-by-hop headers", async () => {
    const port = await pod();
    const m = memoryStream(port);
    const handler = httpStreamHandler({ podIP: (open) => (open.uid === "u1" ? "127.0.0.1" : undefined) });
    m.request(
      {
        method: "POST",
        path: "/a?b=1",
        headers: [
          ["host", "web.test"],
          ["x-forwarded-host", "web.test"],
          ["connection", "x-hop"],
          ["x-hop", "dropped"],
        ],
      },
      ["hello ", "pod", "!"],
    );
    await handler(m.stream);
    expect(m.head()).toMatchObject({ status: 201 });
    const headers = Object.fromEntries(m.head().headers ?? []);
    expect(headers["x-seen-host"]).toBe("web.test");
    expect(headers).not.toHaveProperty("connection");
    expect(m.body()).toBe("POST /a?b=1 hello pod! web.test");
  });

  it("refuses a pod that does not run on this node, and says when the pod's port refuses (nothing sent)", async () => {
    const handler = httpStreamHandler({ podIP: () => undefined });
    const absent = memoryStream(80, "someone-else");
    absent.request({ method: "GET", path: "/", headers: [] }, []);
    await handler(absent.stream);
    expect(absent.head()).toEqual({ error: "pod default/web is not running on this node", notSent: true });

    const port = await pod();
    const closing = server;
    server = undefined;
    await new Promise((r) => closing?.close(r));
    const refused = memoryStream(port);
    refused.request({ method: "GET", path: "/", headers: [] }, []);
    await httpStreamHandler({ podIP: () => "127.0.0.1" })(refused.stream);
    expect(refused.head()).toMatchObject({
      notSent: true,
      error: expect.stringMatching(/^connect: .*ECONNREFUSED/),
    });
  });

  it("passes a WebSocket through to the pod: subprotocol, text and binary messages both ways", async () => {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (p) => [...p][0] });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (socket, req) => {
      socket.on("message", (data, binary) => socket.send(binary ? data : `${req.url}:${data}`, { binary }));
    });
    try {
      const port = (wss.address() as { port: number }).port;
      const m = memoryStream(port);
      const serving = httpStreamHandler({ podIP: () => "127.0.0.1" })(m.stream);
      m.push(
        new TextEncoder().encode(
          JSON.stringify({
            method: "GET",
            path: "/chat",
            headers: [["sec-websocket-protocol", "chat, other"]],
            upgrade: "websocket",
          } satisfies HttpRequestHead),
        ),
      );
      m.push(new Uint8Array(0));
      m.push(Uint8Array.from([WS_TEXT, ...new TextEncoder().encode("hi")]));
      m.push(Uint8Array.from([0, 1, 2]));
      while (m.sent.length < 3) await new Promise((r) => setTimeout(r, 10));
      expect(m.head()).toEqual({ status: 101, headers: [["sec-websocket-protocol", "chat"]] });
      expect(Buffer.from(m.payloads()[1]).toString()).toBe(`${String.fromCharCode(WS_TEXT)}/chat:hi`);
      expect([...m.payloads()[2]]).toEqual([0, 1, 2]);
      m.push(undefined);
      await serving;
    } finally {
      wss.close();
    }
  });
});
