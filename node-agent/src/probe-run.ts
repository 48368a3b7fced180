/**
 * Runs one probe attempt for real: httpGet (2xx/3xx is success), tcpSocket
 * (connect), exec (through the runtime, when it can). Each attempt is bounded
 * by the probe's timeoutSeconds.
 */
import { connect } from "node:net";
import type { Container, Probe } from "./pod/k8s.ts";
import type { ProbeTarget } from "./pod/probes.ts";

/** Resolve a named port against the container's ports. */
function portOf(port: number | string, container?: Container): number {
  if (typeof port === "number") return port;
  const named = container?.ports?.find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
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
    try {
      const response = await fetch(url, {
        headers,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    } catch {
      return false;
    }
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
