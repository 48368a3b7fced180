/**
 * The agent's /metrics over plain HTTP on a local address (--metrics-bind-address, default 127.0.0.1:10255,
 * kubelet's old read-only port). No authentication: on loopback only processes on the node reach it, and the
 * metrics carry counts and latencies, no pod names, tokens or Secrets; a non-loopback address is the operator's
 * choice to expose them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentMetrics } from "./metrics.ts";

/** Split "host:port" ("[::1]:10255" too). */
export function parseBindAddress(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`bad --metrics-bind-address ${spec} (want HOST:PORT)`);
  return { host: m[1] ?? m[2], port };
}

/** Serve GET /metrics; resolves with the server and the address it listens on. */
export async function serveMetrics(
  metrics: AgentMetrics,
  bind: { host: string; port: number },
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    metrics.render().then(
      ({ text, contentType }) => res.writeHead(200, { "Content-Type": contentType }).end(text),
      (error: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(bind.port, bind.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}/metrics` };
}
