/**
 * How the agent reaches the API server: HTTPS with certificate verification
 * (optionally against a private CA from --ca-file), or plain HTTP only to a
 * loopback address. The same trust settings serve fetch and the tunnel's
 * WebSocket.
 *
 * Built on node:http/https rather than undici: the agent idles at a fixed
 * memory cost per node, and undici (a second HTTP stack with a WebAssembly
 * parser) cost ~21 MiB of RSS over node:http for the same requests
 * (docs/node-agent.md, Benchmark). Callers still see fetch's shape
 * (Request in, Response out, a streamed body). `nodeFetch` is the same for
 * the agent's other HTTP (image pulls): one global fetch call alone loads
 * Node's bundled undici, ~9 MiB of anonymous memory for the agent's life.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

/** TLS trust for the control plane. */
export interface TransportOptions {
  server: string;
  /** PEM of the CA that signed the server's certificate (default: system roots). */
  caFile?: string;
}

/** A fetch bound to the server's trust settings, plus the CA for the WebSocket. */
export interface Transport {
  fetch: (request: Request) => Promise<Response>;
  /** CA PEM for ws (undefined = system roots). */
  ca?: string;
  close(): Promise<void>;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

// A free keep-alive socket is closed before a server's idle timeout can close it under a request
// (workerd closes idle connections after 5 s; Node also honours a server's Keep-Alive: timeout=N).
const FREE_SOCKET_TIMEOUT_MS = 4_000;

/** Validate the server URL (https, or http to loopback) and build the transport. */
export function createTransport(options: TransportOptions): Transport {
  const url = new URL(options.server);
  if (url.protocol === "http:" && !isLoopback(url.hostname))
    throw new Error(
      `refusing plain http to ${url.hostname}: use https (plain http is allowed only to loopback)`,
    );
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`unsupported server URL ${options.server}`);
  const ca = options.caFile ? readFileSync(options.caFile, "utf8") : undefined;
  const agents = {
    "https:": new https.Agent({
      keepAlive: true,
      timeout: FREE_SOCKET_TIMEOUT_MS,
      ca,
      rejectUnauthorized: true,
    }),
    "http:": new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
  };
  return {
    ca,
    fetch: async (request: Request) => {
      const target = new URL(request.url);
      if (target.protocol !== "http:" && target.protocol !== "https:")
        throw new TypeError(`unsupported URL ${request.url}`);
      if (target.protocol === "http:" && !isLoopback(target.hostname))
        throw new TypeError(`refusing plain http to ${target.hostname}`);
      // Every caller sends a finite body (JSON): buffered, so it goes with a Content-Length and can be
      // sent again when a reused keep-alive socket turns out to be closed.
      return sendOnce(agents[target.protocol as "http:"], await outgoing(request), true);
    },
    close: async () => {
      // destroy, not a graceful end: a long-lived watch would otherwise keep its socket open.
      for (const agent of Object.values(agents)) agent.destroy();
    },
  };
}

/** One request as sent on the wire: its body buffered, so it can be sent again or after a redirect. */
interface Outgoing {
  url: URL;
  method: string;
  headers: Headers;
  body?: Buffer;
  signal: AbortSignal;
}

const outgoing = async (request: Request): Promise<Outgoing> => ({
  url: new URL(request.url),
  method: request.method,
  headers: new Headers(request.headers),
  body: request.body ? Buffer.from(await request.arrayBuffer()) : undefined,
  signal: request.signal,
});

function sendOnce(agent: http.Agent, out: Outgoing, retry: boolean): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const [k, v] of out.headers) headers[k] = v;
  headers["accept-encoding"] ??= "gzip, deflate, br";
  if (out.body) headers["content-length"] = String(out.body.length);
  const { signal, url } = out;
  return new Promise<Response>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new DOMException("aborted", "AbortError"));
    const req = (url.protocol === "https:" ? https : http).request(url, {
      method: out.method,
      headers,
      agent,
    });
    const onAbort = () => req.destroy(signal.reason ?? new DOMException("aborted", "AbortError"));
    signal.addEventListener("abort", onAbort, { once: true });
    let answered = false;
    req.on("error", (error: NodeJS.ErrnoException) => {
      signal.removeEventListener("abort", onAbort);
      if (answered) return;
      // The server closed a kept-alive socket just as it was reused: nothing reached it, send again once.
      if (retry && req.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE"))
        return resolve(sendOnce(agent, out, false));
      reject(new TypeError("fetch failed", { cause: error }));
    });
    req.on("response", (res) => {
      answered = true;
      const done = () => signal.removeEventListener("abort", onAbort);
      res.once("close", done);
      const status = res.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
        responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
      const bodyless = out.method === "HEAD" || status === 204 || status === 205 || status === 304;
      if (bodyless) res.resume();
      resolve(
        new Response(bodyless ? null : (Readable.toWeb(decoded(res)) as ReadableStream<Uint8Array>), {
          status,
          statusText: res.statusMessage,
          headers: responseHeaders,
        }),
      );
    });
    req.end(out.body);
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * fetch over node:http/https with the system's CAs, following redirects as fetch does (at most 20;
 * credentials dropped when the origin changes; 303, and 301/302 after a POST, become a GET). For the
 * agent's HTTP beyond the API server: image pulls from registries, which redirect blobs to storage.
 */
export function createNodeFetch(): typeof fetch {
  const agents = {
    "https:": new https.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
    "http:": new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
  };
  const nodeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    let out = await outgoing(request);
    for (let hops = 0; ; hops++) {
      const protocol = out.url.protocol;
      if (protocol !== "http:" && protocol !== "https:") throw new TypeError(`unsupported URL ${out.url}`);
      const response = await sendOnce(agents[protocol], out, true);
      const location = response.headers.get("location");
      if (request.redirect === "manual" || !REDIRECTS.has(response.status) || location === null)
        return response;
      await response.body?.cancel();
      if (request.redirect === "error" || hops >= 20)
        throw new TypeError("fetch failed", { cause: new Error(`redirect to ${location} not followed`) });
      const next = new URL(location, out.url);
      const headers = new Headers(out.headers);
      if (next.origin !== out.url.origin)
        for (const name of ["authorization", "cookie", "proxy-authorization"]) headers.delete(name);
      const toGet =
        response.status === 303 ? out.method !== "HEAD" : response.status < 307 && out.method === "POST";
      if (toGet)
        for (const name of ["content-type", "content-length", "content-encoding", "content-language"])
          headers.delete(name);
      out = {
        url: next,
        method: toGet ? "GET" : out.method,
        headers,
        body: toGet ? undefined : out.body,
        signal: out.signal,
      };
    }
  };
  return nodeFetch as typeof fetch;
}

/** The response body without its Content-Encoding, as fetch delivers it. */
function decoded(res: http.IncomingMessage): Readable {
  const encoding = String(res.headers["content-encoding"] ?? "").toLowerCase();
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return res;
  res.on("error", (error) => decoder.destroy(error));
  return res.pipe(decoder);
}
