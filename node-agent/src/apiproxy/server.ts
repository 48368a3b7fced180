/**
 * The API from inside pods: a TLS endpoint on the node that the service proxy
 * puts behind the `kubernetes` Service (10.96.0.1:443), forwarding every
 * request to the real API server, byte for byte: streaming bodies both ways
 * (watches), and Upgrade (WebSocket, SPDY) for exec, attach and port-forward.
 * The caller's own Authorization header goes through untouched and nothing
 * of the node's is ever added: a pod gets exactly what its own credential
 * allows. Only the Host header is rewritten to the API server's, which the
 * edge routes by. Its certificate (signed by the cluster CA) names 10.96.0.1
 * and kubernetes.default.svc..., so in-cluster clients verify it as they
 * would kube-apiserver's.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer, Agent as HttpsAgent, request as httpsRequest, type Server } from "node:https";
import { type AddressInfo, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** What the API proxy needs. */
export interface ApiProxyOptions {
  /** The API server's URL (https, or http to loopback as the agent allows). */
  server: string;
  /** PEM of the CA that signed the API server's certificate (undefined: system roots). */
  serverCa?: string;
  /** PEM certificate (and chain) and key this endpoint presents. */
  cert: string;
  key: string;
  /** Address to listen on (the node's address: reachable only through the Service, see render.ts agent-listeners). */
  host: string;
  /** Port (default 0: any free port). */
  port?: number;
  log: (message: string) => void;
}

/** Connection-level headers never forwarded as they are (RFC 9110 7.6.1), plus Host, which is rewritten. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** The headers to send on: the caller's, minus hop-by-hop ones (and those the Connection header names). */
export function forwardHeaders(
  headers: IncomingHttpHeaders,
  host: string,
  upgrade?: string,
): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  out.host = host;
  if (upgrade) {
    out.connection = "Upgrade";
    out.upgrade = upgrade;
  }
  return out;
}

/** A Kubernetes Status body for failures of the proxy itself (the API server's own answers pass through). */
function status(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });
}

/** A running API proxy. */
export class ApiProxy {
  private server?: Server;
  private readonly upstream: URL;
  private readonly agent: HttpAgent;
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly options: ApiProxyOptions) {
    this.upstream = new URL(options.server);
    const tls = this.upstream.protocol === "https:";
    this.agent = tls
      ? new HttpsAgent({ keepAlive: true, ca: options.serverCa, rejectUnauthorized: true })
      : new HttpAgent({ keepAlive: true });
  }

  /** The port it listens on (after start). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Listen. */
  async start(): Promise<void> {
    const server = createServer({ cert: this.options.cert, key: this.options.key });
    // A watch is one long response: no timeout may end it (the API server ends watches itself).
    server.requestTimeout = 0;
    server.on("request", (req, res) => this.forward(req, res));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.tunnel(req, socket, head),
    );
    server.on("tlsClientError", () => {});
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, this.options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  /** Stop listening and drop every connection (watches and exec streams included). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private open(req: IncomingMessage, upgrade?: string): ClientRequest {
    const u = this.upstream;
    const send = u.protocol === "https:" ? httpsRequest : httpRequest;
    return send({
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port || (u.protocol === "https:" ? 443 : 80),
      // SNI carries names only (RFC 6066).
      servername: isIP(u.hostname.replace(/^\[|\]$/g, "")) ? undefined : u.hostname,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req.headers, u.host, upgrade),
      // An Upgrade takes the connection over: never from (or back into) the keep-alive pool.
      agent: upgrade ? false : this.agent,
      ca: this.options.serverCa,
      rejectUnauthorized: true,
    } as never);
  }

  /** An ordinary request: body streamed up, answer streamed back (a watch stays open as long as both ends do). */
  private forward(req: IncomingMessage, res: ServerResponse): void {
    if (!req.url?.startsWith("/")) {
      res
        .writeHead(400, { "content-type": "application/json" })
        .end(status(400, "BadRequest", "bad request target"));
      return;
    }
    const up = this.open(req);
    up.on("response", (answer) => {
      const headers = forwardHeaders(answer.headers, "");
      delete headers.host;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
      // Each chunk of a watch goes out as it comes.
      res.flushHeaders();
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    });
    up.on("error", (error) => {
      this.options.log(`api proxy: ${req.method} ${req.url?.split("?")[0]}: ${error.message}`);
      if (!res.headersSent)
        res
          .writeHead(503, { "content-type": "application/json" })
          .end(status(503, "ServiceUnavailable", "the API server is not reachable from this node"));
      else res.destroy();
    });
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  /** An Upgrade (WebSocket, SPDY): the API server's 101 is relayed and the two sockets are joined. */
  private tunnel(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const up = this.open(req, String(req.headers.upgrade ?? ""));
    up.on("upgrade", (answer, upSocket, upHead) => {
      this.sockets.add(upSocket);
      upSocket.once("close", () => this.sockets.delete(upSocket));
      socket.write(statusLine(answer) + rawHeaders(answer));
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on("error", () => socket.destroy());
      socket.on("error", () => upSocket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    // The API server refused the upgrade (401, 403, 404...): its answer goes back as it is.
    up.on("response", (answer) => {
      // The body arrives de-chunked: it is sent delimited by the end of the connection instead.
      socket.write(
        statusLine(answer) + rawHeaders(answer, ["transfer-encoding", "connection", "keep-alive"]),
      );
      answer.pipe(socket);
    });
    up.on("error", (error) => {
      this.options.log(`api proxy: upgrade ${req.url?.split("?")[0]}: ${error.message}`);
      const body = status(503, "ServiceUnavailable", "the API server is not reachable from this node");
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    up.end();
  }
}

function statusLine(answer: IncomingMessage): string {
  return `HTTP/1.1 ${answer.statusCode} ${answer.statusMessage ?? ""}\r\n`;
}

/** The answer's headers as they came (rawHeaders keeps case, order and repeats) minus `drop`, ending the head. */
function rawHeaders(answer: IncomingMessage, drop: string[] = []): string {
  const lines: string[] = [];
  const raw = answer.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (!drop.includes(String(raw[i]).toLowerCase())) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  if (drop.length) lines.push("Connection: close");
  return `${lines.join("\r\n")}${lines.length ? "\r\n" : ""}\r\n`;
}
