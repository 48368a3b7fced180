/**
 * The local node agents' door to the built-in registry: plain HTTP on
 * 127.0.0.1 (the agent, like containerd, speaks plain HTTP to loopback
 * registries and HTTPS to every other), pull-only, forwarding GET/HEAD
 * /v2/... to the control plane over HTTPS with a pull credential. Image
 * references then read `127.0.0.1:<port>/samples/ticker:v1` whatever port
 * the API serves on. Pushes go to the control plane itself (`edgeplane push`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ClusterFetch } from "../lib/client.ts";

/** A running registry proxy. */
export interface RegistryProxy {
  /** 127.0.0.1:<port> (the image reference host). */
  host: string;
  stop(): Promise<void>;
}

/** Response headers worth passing on to a registry client. */
const PASS = [
  "content-type",
  "content-length",
  "docker-content-digest",
  "docker-distribution-api-version",
  "content-range",
  "accept-ranges",
  "etag",
  "link",
];

/** Listen on 127.0.0.1:<port> (0: any) and forward pulls through `fetcher`. */
export async function startRegistryProxy(port: number, fetcher: ClusterFetch): Promise<RegistryProxy> {
  const server: Server = createServer((req, res) => {
    forward(req, res, fetcher).catch((error) => {
      if (!res.headersSent) reply(res, 502, "UNAVAILABLE", `control plane unreachable: ${error.message}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function forward(req: IncomingMessage, res: ServerResponse, fetcher: ClusterFetch): Promise<void> {
  const path = req.url ?? "/";
  if (!(path === "/v2" || path.startsWith("/v2/")))
    return reply(res, 404, "NAME_UNKNOWN", "not a registry path");
  if (req.method !== "GET" && req.method !== "HEAD") {
    return reply(res, 405, "UNSUPPORTED", "this loopback endpoint is pull-only; push with `edgeplane push`");
  }
  const headers: Record<string, string> = {};
  for (const name of ["accept", "range"]) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const upstream = await fetcher(path, { method: req.method, headers });
  const out: Record<string, string> = {};
  for (const name of PASS) {
    const value = upstream.headers.get(name);
    if (value !== null) out[name] = value;
  }
  res.writeHead(upstream.status, out);
  if (!upstream.body || req.method === "HEAD") {
    await upstream.body?.cancel();
    res.end();
    return;
  }
  Readable.fromWeb(upstream.body as import("node:stream/web").ReadableStream).pipe(res);
}

function reply(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
}
