/**
 * The local node agents' door to the built-in registry: plain HTTP on
 * 127.0.0.1 (the agent, like containerd, speaks plain HTTP to loopback
 * registries and HTTPS to every other), pull-only, forwarding GET/HEAD of the
 * distribution API's read endpoints to the control plane over HTTPS. Image
 * references then read `127.0.0.1:<port>/samples/ticker:v1` whatever port
 * the API serves on. Pushes go to the control plane itself (`edgeplane push`).
 *
 * What it refuses, because it forwards into the control plane's origin:
 * - anything but GET/HEAD (405), and any path that is not one of
 *   `/v2/`, `/v2/<name>/manifests/<tag|digest>`, `/v2/<name>/blobs/<digest>`,
 *   `/v2/<name>/tags/list` with the OCI grammar for each part (404). The
 *   upstream URL is built from those validated parts, never from the raw
 *   path, so `/v2/../api`, `/v2/%2e%2e/api`, `/v2//x` or encoded slashes
 *   cannot reach the Kubernetes API;
 * - requests without a credential (401 with the Basic challenge containerd
 *   and the agent answer): it holds none of its own and forwards the
 *   puller's `Authorization` (each node agent sends its own node token,
 *   `--registry-login`), so it is no anonymous mirror for every local process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ClusterFetch } from "../lib/client.ts";

/** A running registry proxy. */
export interface RegistryProxy {
  /** 127.0.0.1:<port> (the image reference host). */
  host: string;
  /** The listening server (a test closes it to play a crash). */
  server: Server;
  /** Listen again on the same port after an unexpected close. */
  restart(): Promise<void>;
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
  "www-authenticate",
];

// The OCI distribution spec's grammar (workers/oci-registry/names.ts checks the same upstream).
const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const CHALLENGE = 'Basic realm="edgeplane registry"';

/** An upstream request the proxy may make: a path rebuilt from validated parts. */
export interface PullTarget {
  path: string;
}

/**
 * The canonical upstream path for a pull request, or an OCI error. Only the
 * read endpoints, each part checked against the spec's grammar; no query
 * survives except `n`/`last` on tags/list (numbers and tags only).
 */
export function pullTarget(
  method: string,
  rawUrl: string,
): PullTarget | { status: number; code: string; message: string } {
  if (method !== "GET" && method !== "HEAD")
    return {
      status: 405,
      code: "UNSUPPORTED",
      message: "this loopback endpoint is pull-only; push with `edgeplane push`",
    };
  const notFound = { status: 404, code: "NAME_UNKNOWN", message: "not a registry pull path" };
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
  // No escapes at all: every valid name, tag and digest is plain ASCII, so none is ever needed.
  if (path.includes("%") || path.includes("\\")) return notFound;
  if (path === "/v2" || path === "/v2/") return { path: "/v2/" };
  const m =
    /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path) ?? /^\/v2\/(.+)\/(tags)\/(list)$/.exec(path);
  if (!m) return notFound;
  const [, name, kind, ref] = m;
  if (name.length > 255 || !NAME.test(name)) return notFound;
  if (kind === "blobs" && !DIGEST.test(ref)) return notFound;
  if (kind === "manifests" && !DIGEST.test(ref) && !TAG.test(ref)) return notFound;
  if (kind !== "tags") return { path: `/v2/${name}/${kind}/${ref}` };
  const keep = new URLSearchParams();
  const n = query.get("n");
  const last = query.get("last");
  if (n !== null && /^\d{1,6}$/.test(n)) keep.set("n", n);
  if (last !== null && TAG.test(last)) keep.set("last", last);
  const rest = keep.toString();
  return { path: `/v2/${name}/tags/list${rest ? `?${rest}` : ""}` };
}

/** Listen on 127.0.0.1:<port> (0: any) and forward pulls through `fetcher`. */
export async function startRegistryProxy(
  port: number,
  fetcher: ClusterFetch,
  onExit?: (why: string) => void,
): Promise<RegistryProxy> {
  const server: Server = createServer((req, res) => {
    forward(req, res, fetcher).catch((error) => {
      if (!res.headersSent) reply(res, 502, "UNAVAILABLE", `control plane unreachable: ${error.message}`);
      else res.destroy();
    });
  });
  const listen = (on: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(on, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(port);
  const { port: bound } = server.address() as AddressInfo;
  let expectClose = false;
  // Closed without stop() or restart() asking: the supervisor (scripts/local/supervise.ts) listens again.
  server.on("close", () => {
    if (!expectClose) onExit?.("it stopped listening");
  });
  server.on("error", (error) => {
    if (server.listening) server.close();
    else if (!expectClose) onExit?.(error.message);
  });
  return {
    host: `127.0.0.1:${bound}`,
    server,
    restart: async () => {
      expectClose = true;
      try {
        if (server.listening) await new Promise((r) => server.close(r));
        await listen(bound);
      } finally {
        expectClose = false;
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        expectClose = true;
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function forward(req: IncomingMessage, res: ServerResponse, fetcher: ClusterFetch): Promise<void> {
  const target = pullTarget(req.method ?? "", req.url ?? "/");
  if (!("path" in target)) return reply(res, target.status, target.code, target.message);
  const authorization = req.headers.authorization;
  if (!authorization || !/^(Basic|Bearer) \S+$/i.test(authorization))
    return reply(res, 401, "UNAUTHORIZED", "authentication required", { "www-authenticate": CHALLENGE });
  const headers: Record<string, string> = { authorization };
  for (const name of ["accept", "range"]) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const upstream = await fetcher(target.path, { method: req.method, headers, redirect: "manual" });
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

function reply(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
}
