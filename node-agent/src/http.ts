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
 * (Request in, Response out, a streamed body).
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
      const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
      const send = (retry: boolean) =>
        sendOnce(agents[target.protocol as "http:"], target, request, body, retry);
      return send(true);
    },
    close: async () => {
      // destroy, not a graceful end: a long-lived watch would otherwise keep its socket open.
      for (const agent of Object.values(agents)) agent.destroy();
    },
  };
}

function sendOnce(
  agent: http.Agent,
  target: URL,
  request: Request,
  body: Buffer | undefined,
  retry: boolean,
): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const [k, v] of request.headers) headers[k] = v;
  headers["accept-encoding"] ??= "gzip, deflate, br";
  if (body) headers["content-length"] = String(body.length);
  const signal = request.signal;
  return new Promise<Response>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new DOMException("aborted", "AbortError"));
    const req = (target.protocol === "https:" ? https : http).request(target, {
      method: request.method,
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
        return resolve(sendOnce(agent, target, request, body, false));
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
      const bodyless = request.method === "HEAD" || status === 204 || status === 205 || status === 304;
      if (bodyless) res.resume();
      resolve(
        new Response(bodyless ? null : (Readable.toWeb(decoded(res)) as ReadableStream<Uint8Array>), {
          status,
          statusText: res.statusMessage,
          headers: responseHeaders,
        }),
      );
    });
    req.end(body);
  });
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
