/**
 * Services on local nodes: the agents play kube-proxy (nftables), serve
 * cluster DNS behind kube-dns and the API behind `kubernetes` (10.96.0.1:443)
 * with a certificate of the local CA. On by default where it can run.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AgentOptions } from "./agents.ts";
import type { StartOptions } from "./args.ts";
import { hasCommand } from "./host.ts";
import { ensureApiProxyCert } from "./pki.ts";

const run = promisify(execFile);

/**
 * The agents' --service-proxy settings (the API proxy's certificate made once next to the CA): on unless
 * --no-service-proxy, and only where nftables can be programmed (root, nft); otherwise one line says why.
 */
export async function serviceProxyFor(
  options: StartOptions,
  pki: { caCert: string; caKey: string },
  say: (message: string) => void,
): Promise<AgentOptions["serviceProxy"]> {
  if (!options.serviceProxy || options.nodes === 0) return undefined;
  if (process.getuid?.() !== 0 || !hasCommand("nft")) {
    say("Services carry no traffic on these nodes: the service proxy needs root and nft (nftables)");
    return undefined;
  }
  const cert = await ensureApiProxyCert(join(options.stateDir, "pki"), pki);
  return { clusterCidr: options.podNetwork, apiProxyCert: cert.cert, apiProxyKey: cert.key };
}

/** The nft table the agents' service proxy keeps for pods on `bridge` (node-agent/src/proxy/proxy.ts names it). */
export function serviceTable(bridge: string): string {
  return bridge === "edgeplane0" ? "edgeplane" : `edgeplane-${bridge}`;
}

/** Delete that table and the agents' NetworkPolicy table (node-agent/src/netpol/enforcer.ts names it); gone already is fine. */
export async function removeServiceRules(bridge: string): Promise<void> {
  await run("nft", ["delete", "table", "ip", serviceTable(bridge)]).catch(() => {});
  const policies = bridge === "edgeplane0" ? "edgeplane-netpol" : `edgeplane-netpol-${bridge}`;
  await run("nft", ["delete", "table", "ip", policies]).catch(() => {});
}
