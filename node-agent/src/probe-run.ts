/**
 * Runs one probe attempt for real: httpGet (2xx/3xx is success), tcpSocket
 * (connect), exec (through the runtime, when it can). Each attempt is bounded
 * by the probe's timeoutSeconds.
 *
 * httpGet is a bare node:http(s) request, as the kubelet's is: no keep-alive,
 * redirects not followed (a 3xx is success), HTTPS without certificate
 * verification (a probe checks liveness, not identity, and carries no
 * credentials of ours). Not the global fetch: its first use loads Node's
 * bundled undici into the agent for good (~8 MiB RSS, docs/node-agent.md).
 */
import * as http from "node:http";
import * as https from "node:https";
import { connect } from "node:net";
import type { Container, Probe } from "./pod/k8s.ts";
import type { ProbeTarget } from "./pod/probes.ts";

/** Resolve a named port against the container's ports. */
function portOf(port: number | string, container?: Container): number {
  if (typeof port === "number") return port;
  const named = container?.ports?.find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
}

/** The status of one GET (body discarded), rejecting on a connection error or after timeoutMs. */
function httpGetStatus(url: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const options = { headers, agent: false, signal: AbortSignal.timeout(timeoutMs) } as const;
    const req =
      target.protocol === "https:"
        ? https.request(target, { ...options, rejectUnauthorized: false })
        : http.request(target, options);
    req.on("error", reject);
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.end();
  });
}

/** One attempt; true = success. */
export async function runProbe(probe: Probe, target: ProbeTarget, container?: Container): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const g = probe.httpGet;
    const scheme = (g.scheme ?? "HTTP").toLowerCase();
    const host = g.host ?? target.podIP;
    const url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${portOf(g.port, container)}${g.path ?? "/"}`;
    const headers: Record<string, string> = { "User-Agent": "kube-probe/1.32" };
    for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
    return await httpGetStatus(url, headers, timeoutMs).then(
      (status) => status >= 200 && status < 400,
      () => false,
    );
  }
  if (probe.tcpSocket) {
    const port = portOf(probe.tcpSocket.port, container);
    const host = probe.tcpSocket.host ?? target.podIP;
    return await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      const done = (ok: boolean) => {
        socket.destroy();
        clearTimeout(timer);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      socket.once("connect", () => done(true));
      socket.once("error", () => done(false));
    });
  }
  if (probe.exec?.command && target.runtime.execSync) {
    const result = await target.runtime.execSync(
      target.containerId,
      probe.exec.command,
      probe.timeoutSeconds ?? 1,
    );
    return result.exitCode === 0;
  }
  // exec on a runtime without exec support (WASM): a probe that cannot run fails, as a broken probe would.
  return false;
}
