/**
 * How the agent reaches the API server: HTTPS with certificate verification
 * (optionally against a private CA from --ca-file), or plain HTTP only to a
 * loopback address. The same trust settings serve fetch and the tunnel's
 * WebSocket.
 */
import { readFileSync } from "node:fs";
import { Agent, fetch as undiciFetch } from "undici";

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
  const dispatcher = new Agent({
    connect: ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: true },
    keepAliveTimeout: 30_000,
  });
  return {
    ca,
    fetch: async (request: Request) => {
      const init = {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        duplex: request.body ? "half" : undefined,
        dispatcher,
      };
      return (await undiciFetch(request.url, init as never)) as unknown as Response;
    },
    // destroy, not close: close() would wait for the long-lived watch to finish.
    close: () => dispatcher.destroy(),
  };
}
