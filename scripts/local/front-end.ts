/**
 * The local stand-in for Cloudflare's front end: the TLS listener kubectl,
 * the node agents and the dashboard talk to, forwarding each request to a
 * workerd process over plain HTTP on loopback, as the edge forwards to an
 * isolate.
 *
 * Why it exists: workerd (kj's HttpServer) closes a client connection idle
 * for 5 s, not configurable, and a Worker cannot send `Connection: close`.
 * A client that reuses its connection right then (kubectl drain POSTs its
 * eviction exactly 5 s after a 429) gets EOF, and Go does not replay a POST.
 * At the edge the front end holds client connections; here this does too:
 * clients keep their connections as long as they like (their own idle
 * timeouts close them first), and the upstream connections are ours, closed
 * after 4 s idle (before workerd's 5 s), with a request retried on a fresh
 * connection when an idle one turned out closed before it took any byte
 * (notTaken below: never a request workerd may have applied).
 *
 * With several upstreams (one per API workerd process) requests go round
 * robin, the edge's load balancing. Bodies and upgrades (watch, logs -f,
 * exec/attach/port-forward WebSockets, the node tunnel) stream through
 * unbuffered.
 */
import {
  Agent,
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { createServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";

/** What the front end needs. */
export interface FrontEndOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  tls: { cert: string | Buffer; key: string | Buffer };
  /** The workerd sockets (plain HTTP, loopback) requests are spread over. */
  upstreams: URL[];
}

/** A running front end. */
export interface FrontEnd {
  /** https://<host>:<port> */
  url: string;
  port: number;
  /** Point at other upstreams (workerd restarted elsewhere); requests in flight finish where they are. */
  setUpstreams(upstreams: URL[]): void;
  stop(): Promise<void>;
}

/** workerd closes an idle connection after 5 s; ours go first, with a margin for the response's last bytes. */
const UPSTREAM_IDLE_MS = 4_000;
/** A request body up to this size is kept until the answer starts, so a request hit by an idle close can be sent again. */
const REPLAYABLE_BYTES = 1 << 20;
/** Idle client connections stay open this long (kubectl's own idle timeout, 90 s, closes them first). */
const CLIENT_IDLE_MS = 5 * 60_000;

/** Per-hop headers (RFC 9110 7.6.1): they describe one connection and are not forwarded. */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/**
 * Headers the Worker trusts from the front end alone, so a client's own are replaced:
 * CF-Connecting-IP (the client's address, as Cloudflare sets it) and MF-Original-URL
 * (Miniflare's entry worker takes the request URL from it: the Worker sees the https
 * URL the client used, not the loopback hop).
 */
function forwardHeaders(req: IncomingMessage, upgrade: boolean): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const listed = new Set(
    String(req.headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP.has(name) || listed.has(name)) continue;
    // Expect: 100-continue was answered here already (Node's server does it).
    if (name === "cf-connecting-ip" || name === "expect" || name.startsWith("mf-")) continue;
    headers[name] = value;
  }
  if (upgrade) {
    headers.connection = "Upgrade";
    headers.upgrade = req.headers.upgrade;
  }
  headers["cf-connecting-ip"] = clientIp(req.socket);
  headers["mf-original-url"] = `https://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  return headers;
}

function clientIp(socket: Socket): string {
  return (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
}

/** Response headers without the per-hop ones, as a flat raw list (repeated headers like Set-Cookie kept). */
function responseHeaders(res: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (!HOP.has(res.rawHeaders[i].toLowerCase())) out.push(res.rawHeaders[i], res.rawHeaders[i + 1]);
  }
  return out;
}

/**
 * Whether a kept connection failed in a way that proves the request was not
 * taken, so sending it again cannot apply it twice. A reset (RST: `read
 * ECONNRESET`) or a write into a closed socket (EPIPE) means workerd's socket
 * was closed with our bytes unread: its idle close, or a crash before it read
 * them. A plain close before any answer ("socket hang up", a FIN) proves
 * nothing: workerd may have read the request and died applying it, so such a
 * request is sent again only when the method is idempotent (as Go's client
 * does). The 4 s pool timeout makes all of this rare: workerd closes after 5.
 */
function notTaken(request: ClientRequest, method: string, error: NodeJS.ErrnoException): boolean {
  if (!request.reusedSocket) return false;
  if (error.code === "EPIPE" || (error.code === "ECONNRESET" && error.syscall === "read")) return true;
  return error.code === "ECONNRESET" && ["GET", "HEAD", "OPTIONS"].includes(method);
}

/** Start the front end. */
export async function startFrontEnd(options: FrontEndOptions): Promise<FrontEnd> {
  let upstreams = options.upstreams.map((url) => ({ url, agent: upstreamAgent() }));
  let next = 0;
  const pick = () => upstreams[next++ % upstreams.length];
  const retired: Agent[] = [];

  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) =>
    forward(pick(), req, res),
  );
  server.keepAliveTimeout = CLIENT_IDLE_MS;
  // A request may stream its body for as long as it likes (an image layer push); the Worker decides.
  server.requestTimeout = 0;
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    upgrade(pick(), req, socket, head),
  );
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // A client that goes away mid-handshake is the client's business.
  server.on("tlsClientError", () => {});

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `https://${host}:${port}`,
    port,
    setUpstreams(urls) {
      for (const u of upstreams) retired.push(u.agent);
      upstreams = urls.map((url) => ({ url, agent: upstreamAgent() }));
      for (const agent of retired.splice(0)) agent.destroy();
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      for (const u of upstreams) u.agent.destroy();
      await closed;
    },
  };
}

function upstreamAgent(): Agent {
  // No cap on connections: each watch or log stream holds one for its life, as at the edge.
  // `timeout` closes a connection left idle in the pool; a busy one is never cut by it.
  return new Agent({ keepAlive: true, timeout: UPSTREAM_IDLE_MS, maxFreeSockets: 64, scheduling: "lifo" });
}

interface Upstream {
  url: URL;
  agent: Agent;
}

/** The Status kubectl shows when workerd is down (restarting): 503 ServiceUnavailable, as kube's aggregator says it. */
function unreachable(error: NodeJS.ErrnoException) {
  const why = error.code === "ECONNREFUSED" ? "connection refused" : (error.code ?? error.message);
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `the control plane (workerd) is not reachable: ${why}`,
    reason: "ServiceUnavailable",
    code: 503,
  };
}

/** One request, its body streamed up and its answer streamed down; sent again on a fresh connection if an idle one was closed under it. */
function forward(upstream: Upstream, req: IncomingMessage, res: ServerResponse): void {
  const headers = forwardHeaders(req, false);
  let kept: Buffer[] | undefined = [];
  let keptBytes = 0;
  let answered = false;
  let current: ClientRequest;

  const send = (fresh: boolean) => {
    const up = httpRequest({
      host: upstream.url.hostname,
      port: upstream.url.port,
      method: req.method,
      path: req.url,
      headers,
      // A retry takes a connection of its own: every pooled one may be as stale as the last.
      agent: fresh ? false : upstream.agent,
    });
    current = up;
    up.on("response", (upRes) => {
      answered = true;
      kept = undefined;
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes));
      // A stream's (a watch's) headers go out now, not with its first event: client-go waits for
      // them. An answer of known length goes out whole, headers and body in one write.
      if (upRes.headers["content-length"] === undefined) res.flushHeaders();
      upRes.pipe(res);
      // The Worker's answer ended early (workerd died, a stream was cut): the client must see a cut, not an end.
      upRes.on("aborted", () => res.destroy());
      upRes.on("error", () => res.destroy());
    });
    up.on("error", (error: NodeJS.ErrnoException) => {
      if (answered) return res.destroy();
      if (!fresh && notTaken(up, req.method ?? "", error) && kept) {
        const again = send(true);
        for (const chunk of kept) again.write(chunk);
        if (req.readableEnded) again.end();
        // Paused for the dead connection's drain, which will not come.
        req.resume();
        return;
      }
      if (res.headersSent) return res.destroy();
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify(unreachable(error)));
    });
    return up;
  };

  current = send(false);
  req.on("data", (chunk: Buffer) => {
    if (kept) {
      keptBytes += chunk.length;
      if (keptBytes <= REPLAYABLE_BYTES) kept.push(chunk);
      else kept = undefined;
    }
    if (!current.write(chunk)) {
      req.pause();
      current.once("drain", () => req.resume());
    }
  });
  req.on("end", () => current.end());
  // The client went away before the answer ended: so does the request upstream (a watch stops there too).
  res.on("close", () => {
    if (!res.writableFinished) current.destroy();
  });
}

/** A protocol upgrade (WebSocket): the upstream's 101 and then bytes both ways, untouched. */
function upgrade(upstream: Upstream, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const up = httpRequest({
    host: upstream.url.hostname,
    port: upstream.url.port,
    method: req.method,
    path: req.url,
    headers: forwardHeaders(req, true),
    agent: false,
  });
  socket.on("error", () => up.destroy());
  socket.on("close", () => up.destroy());
  let answered = false;
  up.on("upgrade", (upRes, upSocket, upHead) => {
    answered = true;
    socket.write(statusLine(upRes, ["Connection", "Upgrade", "Upgrade", String(upRes.headers.upgrade)]));
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    upSocket.pipe(socket);
    socket.pipe(upSocket);
    upSocket.on("error", () => socket.destroy());
    upSocket.on("close", () => socket.destroy());
    socket.on("close", () => upSocket.destroy());
  });
  // Refused (401, 404, ...): the answer, then the connection closes (it was promised to another protocol).
  up.on("response", (upRes) => {
    answered = true;
    socket.write(statusLine(upRes, ["Connection", "close"]));
    upRes.pipe(socket);
  });
  up.on("error", (error: NodeJS.ErrnoException) => {
    if (answered) socket.destroy();
    else if (!socket.destroyed)
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify(unreachable(error))}`,
      );
  });
  // An upgrade request has no body: what follows the head is the new protocol's (`head`, then the socket).
  up.end();
}

/** The status line and headers of `res` as raw bytes, with `extra` per-hop headers. */
function statusLine(res: IncomingMessage, extra: string[]): string {
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ""}`];
  const headers = [...responseHeaders(res), ...extra];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}
