/**
 * How the agent reaches the API server: HTTPS with certificate verification
 * (optionally against a private CA from --ca-file), or plain HTTP only to a
 * loopback address. The same trust settings serve the API client and the
 * tunnel's WebSocket.
 *
 * Built on node:http/https, and without fetch's classes: the agent idles at
 * a fixed memory cost per node. undici (a second HTTP stack with a
 * WebAssembly parser) cost ~21 MiB of RSS over node:http for the same
 * requests, and in Node 20 merely constructing a Request, Response or
 * Headers loads Node's bundled undici for the life of the process (+9-13
 * MiB RSS in a bare script; docs/node-agent.md, Benchmark). So callers get
 * fetch's (url, init) form with plain header records, and a response with
 * the part of fetch's Response they read (ClientResponse): status, headers,
 * text/json/arrayBuffer, and the body as an async iterable of chunks, which
 * streams (a watch) without web streams. `createNodeFetch` is the same for
 * the agent's other HTTP (image pulls), following redirects as fetch does.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { ClientFetch, ClientRequestInit, ClientResponse } from "../../workers/client/kube.ts";

/** TLS trust for the control plane. */
export interface TransportOptions {
  server: string;
  /** PEM of the CA that signed the server's certificate (default: system roots). */
  caFile?: string;
}

/** The API server's client (fetch's form, to the server's origin only), plus the CA for the WebSocket. */
export interface Transport {
  fetch: ClientFetch;
  /** CA PEM for ws (undefined = system roots). */
  ca?: string;
  close(): Promise<void>;
}

/** A request for `createNodeFetch`: the API client's, plus fetch's redirect mode. */
export interface NodeRequestInit extends ClientRequestInit {
  redirect?: "follow" | "manual" | "error";
}

/** fetch's (url, init) form for the agent's HTTP beyond the API server; global fetch is one too. */
export type NodeFetch = (url: string | URL, init?: NodeRequestInit) => Promise<ClientResponse>;

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

// A free keep-alive socket is closed before a server's idle timeout can close it under a request
// (workerd closes idle connections after 5 s; Node also honours a server's Keep-Alive: timeout=N).
const FREE_SOCKET_TIMEOUT_MS = 4_000;

/** Validate the server URL (https, or http to loopback) and build the transport: one keep-alive agent. */
export function createTransport(options: TransportOptions): Transport {
  const url = new URL(options.server);
  if (url.protocol === "http:" && !isLoopback(url.hostname))
    throw new Error(
      `refusing plain http to ${url.hostname}: use https (plain http is allowed only to loopback)`,
    );
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`unsupported server URL ${options.server}`);
  const ca = options.caFile ? readFileSync(options.caFile, "utf8") : undefined;
  const agent =
    url.protocol === "https:"
      ? new https.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, ca, rejectUnauthorized: true })
      : new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS });
  return {
    ca,
    fetch: async (target, init) => {
      const out = outgoing(new URL(target), init);
      // Only the server this transport trusts: its token must not go anywhere else.
      if (out.url.origin !== url.origin) throw new TypeError(`${out.url.origin} is not the API server`);
      return sendOnce(agent, out, true);
    },
    close: async () => {
      // destroy, not a graceful end: a long-lived watch would otherwise keep its socket open.
      agent.destroy();
    },
  };
}

/** One request as sent on the wire: header names in lower case, the body buffered (sent again on a retry or redirect). */
interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
}

function outgoing(url: URL, init: ClientRequestInit = {}): Outgoing {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    url,
    method: (init.method ?? "GET").toUpperCase(),
    headers,
    body: init.body === undefined ? undefined : Buffer.from(init.body),
    signal: init.signal,
  };
}

const aborted = (signal: AbortSignal) => signal.reason ?? new DOMException("aborted", "AbortError");

function sendOnce(agent: http.Agent, out: Outgoing, retry: boolean): Promise<ClientResponse> {
  const headers = { ...out.headers };
  headers["accept-encoding"] ??= "gzip, deflate, br";
  if (out.body) headers["content-length"] = String(out.body.length);
  const { signal, url } = out;
  return new Promise<ClientResponse>((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal));
    const req = (url.protocol === "https:" ? https : http).request(url, {
      method: out.method,
      headers,
      agent,
    });
    const onAbort = () => req.destroy(signal && aborted(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    let answered = false;
    req.on("error", (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener("abort", onAbort);
      if (answered) return;
      // The server closed a kept-alive socket just as it was reused: nothing reached it, send again once.
      if (retry && req.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE"))
        return resolve(sendOnce(agent, out, false));
      reject(new TypeError("fetch failed", { cause: error }));
    });
    req.on("response", (res) => {
      answered = true;
      res.once("close", () => signal?.removeEventListener("abort", onAbort));
      const status = res.statusCode ?? 0;
      const bodyless = out.method === "HEAD" || status === 204 || status === 205 || status === 304;
      if (bodyless) res.resume();
      resolve(new NodeResponse(status, res.headers, bodyless ? null : decoded(res)));
    });
    req.end(out.body);
  });
}

/** fetch's Response as far as the agent reads it (ClientResponse), over a node:http response. */
class NodeResponse implements ClientResponse {
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly status: number,
    raw: http.IncomingHttpHeaders,
    readonly body: Readable | null,
  ) {
    // As Headers.get: case-insensitive, repeated fields joined with ", ".
    this.headers = {
      get: (name) => {
        const value = raw[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    };
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (!this.body) return new ArrayBuffer(0);
    if (this.body.readableDidRead) throw new TypeError("Body is unusable: Body has already been read");
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of this.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
    }
    // Unpooled and exactly sized, so its ArrayBuffer is the body with no copy beyond this one.
    const all = Buffer.allocUnsafeSlow(length);
    let at = 0;
    for (const chunk of chunks) at += chunk.copy(all, at);
    return all.buffer as ArrayBuffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

/**
 * Drop a response's body unread (a redirect's or a registry's error page), as fetch's body.cancel(): a
 * node:http body is destroyed (its socket too), a web stream (global fetch's, in tests) cancelled.
 */
export async function cancelBody(response: ClientResponse): Promise<void> {
  const body = response.body as { destroy?: () => void; cancel?: () => Promise<void> } | null;
  if (body?.destroy) body.destroy();
  else await body?.cancel?.();
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * fetch over node:http/https with the system's CAs, following redirects as fetch does (at most 20;
 * credentials dropped when the origin changes; 303, and 301/302 after a POST, become a GET). For the
 * agent's HTTP beyond the API server: image pulls from registries, which redirect blobs to storage.
 */
export function createNodeFetch(): NodeFetch {
  const agents = {
    "https:": new https.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
    "http:": new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
  };
  return async (input, init = {}) => {
    let out = outgoing(new URL(input), init);
    for (let hops = 0; ; hops++) {
      const protocol = out.url.protocol;
      if (protocol !== "http:" && protocol !== "https:") throw new TypeError(`unsupported URL ${out.url}`);
      const response = await sendOnce(agents[protocol], out, true);
      const location = response.headers.get("location");
      if (init.redirect === "manual" || !REDIRECTS.has(response.status) || location === null) return response;
      await cancelBody(response);
      if (init.redirect === "error" || hops >= 20)
        throw new TypeError("fetch failed", { cause: new Error(`redirect to ${location} not followed`) });
      const next = new URL(location, out.url);
      const headers = { ...out.headers };
      if (next.origin !== out.url.origin)
        for (const name of ["authorization", "cookie", "proxy-authorization"]) delete headers[name];
      const toGet =
        response.status === 303 ? out.method !== "HEAD" : response.status < 307 && out.method === "POST";
      if (toGet)
        for (const name of ["content-type", "content-length", "content-encoding", "content-language"])
          delete headers[name];
      out = {
        url: next,
        method: toGet ? "GET" : out.method,
        headers,
        body: toGet ? undefined : out.body,
        signal: out.signal,
      };
    }
  };
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
