/**
 * The local front end over real sockets: an upstream that closes a kept
 * connection under the next request (workerd's idle close), streamed answers,
 * WebSocket upgrades, a client going away, the headers the Worker trusts.
 */
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { type FrontEnd, startFrontEnd } from "./front-end.ts";
import { startFrontEndThread } from "./front-end-thread.ts";
import { ensurePki } from "./pki.ts";

let dir: string;
let tls: { cert: Buffer; key: Buffer };
const clientAgent = new Agent({ keepAlive: true, rejectUnauthorized: false });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "front-end-test-"));
  const pki = await ensurePki(dir);
  tls = { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) };
});
afterAll(async () => {
  clientAgent.destroy();
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<URL> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** A front end on a free loopback port with the test CA's certificate, over these upstreams. */
function frontOver(...upstreams: URL[]): Promise<FrontEnd> {
  return startFrontEnd({ host: "127.0.0.1", port: 0, tls, upstreams });
}

/** A request through the front end; resolves with the response once its headers arrive. */
function send(
  front: FrontEnd,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const req = httpsRequest(`${front.url}${path}`, {
    method: init.method ?? "GET",
    headers: init.headers,
    agent: clientAgent,
  });
  const response = once(req, "response").then(([res]) => res as IncomingMessage);
  req.end(init.body);
  return { req, response };
}

async function text(res: IncomingMessage): Promise<string> {
  let out = "";
  for await (const chunk of res) out += chunk;
  return out;
}

describe("local front end", () => {
  it("sends a request again on a fresh connection when the kept one was closed before taking it", async () => {
    // HTTP by hand: the first connection answers once, then closes as the next request arrives,
    // without answering it (what workerd's 5 s idle close looks like from our side).
    const connections: Socket[] = [];
    const upstream = createNetServer((socket) => {
      connections.push(socket);
      const first = connections.length === 1;
      let answered = 0;
      let buffered = "";
      socket.on("data", (data) => {
        buffered += data;
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.slice(end + 4, end + 4 + length);
        buffered = "";
        // A reset: to the front end, the socket was closed with its request unread.
        if (first && answered === 1) return void socket.resetAndDestroy();
        answered++;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length + 5}\r\n\r\ngot: ${body}`);
      });
    });
    const front = await frontOver(await listen(upstream));
    try {
      const one = send(front, "/api/v1/pods", { method: "POST", body: "one" });
      expect(await text(await one.response)).toBe("got: one");
      const two = send(front, "/api/v1/namespaces/a/pods/p/eviction", { method: "POST", body: "two" });
      const res = await two.response;
      expect(res.statusCode).toBe(200);
      expect(await text(res)).toBe("got: two");
      expect(connections.length).toBe(2);
    } finally {
      await front.stop();
      upstream.close();
    }
  });

  it("never sends a POST again when the upstream may have taken it (closed after reading, no answer)", async () => {
    const seen: string[] = [];
    let connections = 0;
    const upstream = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push(body);
        // The first answers; the second is read and then the process "dies" (FIN, no answer).
        if (seen.length === 2) req.socket.destroy();
        else res.end(`got: ${body}`);
      });
    });
    upstream.on("connection", () => connections++);
    const front = await frontOver(await listen(upstream));
    try {
      expect(await text(await send(front, "/x", { method: "POST", body: "one" }).response)).toBe("got: one");
      const res = await send(front, "/x", { method: "POST", body: "two" }).response;
      expect(res.statusCode).toBe(503);
      await text(res);
      expect(seen).toEqual(["one", "two"]);
      expect(connections).toBe(1);
    } finally {
      await front.stop();
      upstream.close();
    }
  });

  it("answers a 503 ServiceUnavailable Status when no upstream is reachable", async () => {
    const gone = createNetServer();
    const url = await listen(gone);
    gone.close();
    await once(gone, "close");
    const front = await frontOver(url);
    try {
      const res = await send(front, "/api").response;
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(await text(res))).toMatchObject({
        kind: "Status",
        reason: "ServiceUnavailable",
        code: 503,
        message: "the control plane (workerd) is not reachable: connection refused",
      });
    } finally {
      await front.stop();
    }
  });

  it("streams an answer as it comes (headers first, then each piece), and passes the client's address and URL", async () => {
    let more: (() => void) | undefined;
    let seen: IncomingMessage | undefined;
    const upstream = createHttpServer((req, res) => {
      seen = req;
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      more = () => {
        res.write('{"type":"ADDED"}\n');
        more = () => res.end('{"type":"DELETED"}\n');
      };
    });
    const front = await frontOver(await listen(upstream));
    try {
      const { response } = send(front, "/api/v1/pods?watch=1", {
        headers: { "CF-Connecting-IP": "203.0.113.9", "MF-Original-URL": "https://evil/" },
      });
      // Nothing of the body is sent yet: the headers alone must arrive (client-go waits for them).
      const res = await response;
      expect(res.statusCode).toBe(200);
      expect(seen?.headers["cf-connecting-ip"]).toBe("127.0.0.1");
      expect(seen?.headers["mf-original-url"]).toBe(`${front.url}/api/v1/pods?watch=1`);
      more?.();
      const [first] = await once(res, "data");
      expect(String(first)).toBe('{"type":"ADDED"}\n');
      more?.();
      expect(await text(res)).toBe('{"type":"DELETED"}\n');
    } finally {
      await front.stop();
      upstream.close();
    }
  });

  it("ends the upstream request when the client goes away mid-stream", async () => {
    const upstreamClosed: Promise<void>[] = [];
    const upstream = createHttpServer((_req, res) => {
      upstreamClosed.push(once(res, "close").then(() => {}));
      res.writeHead(200);
      res.write("open\n");
    });
    const front = await frontOver(await listen(upstream));
    try {
      const { req, response } = send(front, "/api/v1/pods?watch=1");
      const res = await response;
      await once(res, "data");
      req.destroy();
      await upstreamClosed[0];
      expect(upstreamClosed).toHaveLength(1);
    } finally {
      await front.stop();
      upstream.close();
    }
  });

  it("passes WebSocket upgrades through both ways, and a refused upgrade's answer", async () => {
    const upstream = createHttpServer((_req, res) => {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end("no token");
    });
    const wss = new WebSocketServer({ noServer: true });
    upstream.on("upgrade", (req, socket, head) => {
      if (req.headers.authorization !== "Bearer t") {
        socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 8\r\n\r\nno token");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(`hello ${req.headers["cf-connecting-ip"]}`);
        ws.on("message", (data) => ws.send(`echo ${data}`));
      });
    });
    const front = await frontOver(await listen(upstream));
    try {
      const ws = new WebSocket(`${front.url.replace("https", "wss")}/api/v1/namespaces/a/pods/p/exec`, {
        rejectUnauthorized: false,
        headers: { Authorization: "Bearer t" },
      });
      const messages: string[] = [];
      const waiters = new Set<() => void>();
      ws.on("message", (data) => {
        messages.push(String(data));
        for (const w of waiters) w();
      });
      const got = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => messages.length >= n && resolve();
          waiters.add(check);
          check();
        });
      const first = got(1);
      await once(ws, "open");
      await first;
      const second = got(2);
      ws.send("ls");
      await second;
      expect(messages).toEqual(["hello 127.0.0.1", "echo ls"]);
      ws.close();
      await once(ws, "close");

      const refused = new WebSocket(`${front.url.replace("https", "wss")}/api/v1/namespaces/a/pods/p/exec`, {
        rejectUnauthorized: false,
      });
      const [, res] = (await once(refused, "unexpected-response")) as [unknown, IncomingMessage];
      expect(res.statusCode).toBe(401);
      expect(await text(res)).toBe("no token");
    } finally {
      await front.stop();
      wss.close();
      upstream.close();
    }
  });

  it("spreads requests over its upstreams in turn", async () => {
    const servers = [0, 1].map((n) => createHttpServer((_req, res) => res.end(String(n))));
    const front = await frontOver(...(await Promise.all(servers.map(listen))));
    try {
      const answers: string[] = [];
      for (let i = 0; i < 4; i++) answers.push(await text(await send(front, "/").response));
      expect(answers).toEqual(["0", "1", "0", "1"]);
    } finally {
      await front.stop();
      for (const s of servers) s.close();
    }
  });

  it("runs on a thread of its own (as the control plane runs it): requests, new upstreams, stop", async () => {
    const servers = [0, 1].map((n) => createHttpServer((_req, res) => res.end(`upstream ${n}`)));
    const [first, second] = await Promise.all(servers.map(listen));
    const front = await startFrontEndThread({ host: "127.0.0.1", port: 0, tls, upstreams: [first] });
    try {
      expect(front.url).toBe(`https://127.0.0.1:${front.port}`);
      expect(await text(await send(front, "/").response)).toBe("upstream 0");
      front.setUpstreams([second]);
      // The message reaches the thread before the next request's bytes do: both go in order, but on two paths.
      let answer = "";
      for (let i = 0; i < 50 && answer !== "upstream 1"; i++)
        answer = await text(await send(front, "/").response);
      expect(answer).toBe("upstream 1");
    } finally {
      await front.stop();
      for (const s of servers) s.close();
    }
    // Stopped: the port no longer answers.
    const refused = send(front, "/");
    await expect(refused.response).rejects.toThrow();
  });

  it("reports a thread's failure to start (the port is taken) as a rejected start", async () => {
    const taken = createNetServer();
    const url = await listen(taken);
    try {
      await expect(
        startFrontEndThread({ host: "127.0.0.1", port: Number(url.port), tls, upstreams: [url] }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
