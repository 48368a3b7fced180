/**
 * `node-agent`: joins this host to an Edgeplane (or any Kubernetes) control
 * plane as a node and runs its pods.
 *
 *   node-agent --server https://edgeplane.example.workers.dev --token-file /etc/edgeplane/token
 *              [--ca-file ca.pem] [--name NODE] [--data-dir DIR]
 *              [--labels k=v,...] [--max-pods N] [--runtimes wasm[,cri]] [--containerd managed|SOCKET]
 *              [--registry-login HOST[:PORT],...]  registries that get the node's own token
 *              [--registry-mirror REGISTRY=HOST[:PORT],...]  mirrors tried before the registry (docker.io=127.0.0.1:6500)
 *              [--pod-manifest-path DIR]  static pod manifests (default DATA_DIR/manifests)
 *
 * The token comes from a file (mode 0600) or EDGEPLANE_TOKEN, never from the
 * command line: argv is readable by every user on the host (ps,
 * /proc/<pid>/cmdline). `--token` still works but is deprecated and warns.
 */
import { readFileSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NodeAgent } from "./agent.ts";
import { parseBindAddress } from "./metrics-prom/server.ts";

/** The environment variable the token may come from (removed from the environment once read). */
export const TOKEN_ENV = "EDGEPLANE_TOKEN";

const USAGE = `usage: node-agent --server URL (--token-file F | EDGEPLANE_TOKEN=T) [--ca-file PEM] [--name NODE]
                  [--data-dir DIR] [--labels k=v,...] [--max-pods N] [--runtimes wasm[,cri]]
                  [--containerd managed|SOCKET] [--pod-cidr CIDR] [--cni-bridge NAME]
                  [--allow-privileged] [--node-ip IP] [--registry-login HOST[:PORT],...]
                  [--registry-mirror REGISTRY=HOST[:PORT],...] [--pod-manifest-path DIR] [--service-proxy]
                  [--no-network-policy]  with --service-proxy: do not enforce NetworkPolicies (on by default)
                  [--cluster-cidr CIDR] [--service-cidr CIDR] [--cluster-dns IP,...] [--cluster-domain DOMAIN]
                  [--api-proxy-cert PEM --api-proxy-key PEM]  with --service-proxy: the API for pods at 10.96.0.1:443
                  [--metrics-bind-address HOST:PORT]  Prometheus /metrics (default 127.0.0.1:10255, "" = off)
                  [--metrics-interval SECONDS]  resource metrics push period (default 15, 0 = off)
                  [--wasm-netns-pool N]  at most N prepared WASM pod networks kept warm (default 4, 0 = off)`;

/** Parse argv (and the token variable of `env`) into AgentOptions plus warnings (throws with a usage message on bad input). */
export function parseCli(argv: string[], env: Record<string, string | undefined> = {}) {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: "string" },
      token: { type: "string" },
      "token-file": { type: "string" },
      "ca-file": { type: "string" },
      name: { type: "string" },
      "data-dir": { type: "string" },
      labels: { type: "string" },
      "max-pods": { type: "string" },
      runtimes: { type: "string" },
      containerd: { type: "string" },
      "pod-cidr": { type: "string" },
      "cni-bridge": { type: "string" },
      "allow-privileged": { type: "boolean" },
      "node-ip": { type: "string" },
      "registry-login": { type: "string" },
      "registry-mirror": { type: "string" },
      "pod-manifest-path": { type: "string" },
      "service-proxy": { type: "boolean" },
      "no-network-policy": { type: "boolean" },
      "wasm-netns-pool": { type: "string" },
      "cluster-cidr": { type: "string" },
      "service-cidr": { type: "string" },
      "cluster-dns": { type: "string" },
      "cluster-domain": { type: "string" },
      "api-proxy-cert": { type: "string" },
      "api-proxy-key": { type: "string" },
      "metrics-bind-address": { type: "string" },
      "metrics-interval": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  if (!values.server) throw new Error(`--server is required\n${USAGE}`);
  const { token, warnings } = readToken(values.token, values["token-file"], env[TOKEN_ENV]);
  const labels: Record<string, string> = {};
  for (const pair of (values.labels ?? "").split(",").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`bad label ${pair} (want k=v)`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (!values["api-proxy-cert"] !== !values["api-proxy-key"])
    throw new Error(`--api-proxy-cert and --api-proxy-key go together\n${USAGE}`);
  if (values["api-proxy-cert"] && !values["service-proxy"])
    throw new Error(
      `--api-proxy-cert needs --service-proxy (pods reach it through the kubernetes Service)\n${USAGE}`,
    );
  // Both go into nft scripts: nothing but a dotted-quad CIDR may.
  for (const flag of ["cluster-cidr", "service-cidr"] as const) {
    const v = values[flag];
    if (v !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(v))
      throw new Error(`--${flag} must be an IPv4 CIDR, not "${v}"\n${USAGE}`);
  }
  const metricsBind = values["metrics-bind-address"] ?? "127.0.0.1:10255";
  if (metricsBind) parseBindAddress(metricsBind);
  const metricsInterval = Number(values["metrics-interval"] ?? 15);
  if (!Number.isFinite(metricsInterval) || metricsInterval < 0)
    throw new Error(`--metrics-interval must be a number of seconds (0 = off)\n${USAGE}`);
  const pool = values["wasm-netns-pool"];
  if (pool !== undefined && !/^\d{1,2}$/.test(pool))
    throw new Error(`--wasm-netns-pool must be a whole number up to 99 (0 = off)\n${USAGE}`);
  const name = (values.name ?? os.hostname()).toLowerCase();
  const dataDir = values["data-dir"] ?? `/var/lib/edgeplane/${name}`;
  return {
    server: values.server,
    token,
    caFile: values["ca-file"],
    name,
    dataDir,
    podManifestPath: values["pod-manifest-path"] ?? join(dataDir, "manifests"),
    labels,
    maxPods: values["max-pods"] ? Number(values["max-pods"]) : 110,
    runtimes: (values.runtimes ?? "wasm").split(",").filter(Boolean),
    containerd: values.containerd,
    cri: {
      podCidr: values["pod-cidr"],
      bridge: values["cni-bridge"],
      allowPrivileged: values["allow-privileged"],
    },
    hostIP: values["node-ip"],
    metricsIntervalMs: metricsInterval * 1000,
    warnings,
    registryLogins: (values["registry-login"] ?? "").split(",").filter(Boolean),
    registryMirrors: parseMirrors(values["registry-mirror"] ?? ""),
    serviceProxy: values["service-proxy"]
      ? { clusterCidr: values["cluster-cidr"], serviceCidr: values["service-cidr"] }
      : undefined,
    networkPolicy: !values["no-network-policy"],
    wasmNetnsPool: pool === undefined ? undefined : Number(pool),
    apiProxy:
      values["api-proxy-cert"] && values["api-proxy-key"]
        ? { certFile: values["api-proxy-cert"], keyFile: values["api-proxy-key"] }
        : undefined,
    metricsBindAddress: metricsBind,
    clusterDns: values["cluster-dns"]
      ? { servers: values["cluster-dns"].split(",").filter(Boolean), domain: values["cluster-domain"] }
      : undefined,
  };
}

/** `docker.io=127.0.0.1:6500,docker.io=mirror.example` → { "docker.io": ["127.0.0.1:6500", "mirror.example"] }. */
export function parseMirrors(spec: string): Record<string, string[]> {
  const mirrors: Record<string, string[]> = {};
  for (const pair of spec.split(",").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0 || eq === pair.length - 1)
      throw new Error(`bad --registry-mirror ${pair} (want REGISTRY=HOST[:PORT])`);
    const registry = pair.slice(0, eq);
    mirrors[registry] = [...(mirrors[registry] ?? []), pair.slice(eq + 1)];
  }
  return mirrors;
}

/** The token from exactly one source: a file, the environment, or (deprecated) argv. */
function readToken(
  inline: string | undefined,
  file: string | undefined,
  fromEnv: string | undefined,
): { token: string; warnings: string[] } {
  const sources = [inline, file, fromEnv].filter((s) => s !== undefined).length;
  if (sources > 1) throw new Error(`give the token once: --token-file, ${TOKEN_ENV} or --token\n${USAGE}`);
  const warnings: string[] = [];
  let token: string | undefined;
  if (file !== undefined) {
    // A token others can read is a credential others hold (ssh refuses such keys; we warn).
    if ((statSync(file).mode & 0o077) !== 0)
      warnings.push(`warning: ${file} is readable by group or others; chmod 600 it`);
    token = readFileSync(file, "utf8").trim();
  } else if (fromEnv !== undefined) token = fromEnv.trim();
  else if (inline !== undefined) {
    warnings.push(
      `warning: --token is deprecated: the command line is visible to every user (ps); use --token-file or ${TOKEN_ENV}`,
    );
    token = inline;
  }
  if (!token) throw new Error(`a token is required: --token-file F or ${TOKEN_ENV}\n${USAGE}`);
  return { token, warnings };
}

/** Entry point: start, and on SIGTERM/SIGINT stop (pods keep running). */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  let options: ReturnType<typeof parseCli>;
  try {
    options = parseCli(argv, process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  // Children (containerd, runc, wasm runners) inherit the environment: the token stays in this process only.
  delete process.env[TOKEN_ENV];
  for (const w of options.warnings) console.error(w);
  let agent: NodeAgent;
  try {
    agent = await NodeAgent.start(options);
  } catch (error) {
    const e = error as Error & { cause?: Error };
    console.error(`node-agent: ${e.message}${e.cause ? `: ${e.cause.message}` : ""}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await agent.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "\0")) await main();
