/**
 * `node-agent`: joins this host to an Edgeplane (or any Kubernetes) control
 * plane as a node and runs its pods.
 *
 *   node-agent --server https://edgeplane.example.workers.dev --token <id.secret>
 *              [--token-file F] [--ca-file ca.pem] [--name NODE] [--data-dir DIR]
 *              [--labels k=v,...] [--max-pods N] [--runtimes wasm[,cri]] [--containerd managed|SOCKET]
 *              [--registry-login HOST[:PORT],...]  registries that get the node's own token
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { NodeAgent } from "./agent.ts";

const USAGE = `usage: node-agent --server URL (--token T | --token-file F) [--ca-file PEM] [--name NODE]
                  [--data-dir DIR] [--labels k=v,...] [--max-pods N] [--runtimes wasm[,cri]]
                  [--containerd managed|SOCKET] [--pod-cidr CIDR] [--cni-bridge NAME]
                  [--allow-privileged] [--node-ip IP] [--registry-login HOST[:PORT],...]`;

/** Parse argv into AgentOptions (throws with a usage message on bad input). */
export function parseCli(argv: string[]) {
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
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  if (!values.server) throw new Error(`--server is required\n${USAGE}`);
  const token =
    values.token ?? (values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : undefined);
  if (!token) throw new Error(`--token or --token-file is required\n${USAGE}`);
  const labels: Record<string, string> = {};
  for (const pair of (values.labels ?? "").split(",").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`bad label ${pair} (want k=v)`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const name = (values.name ?? os.hostname()).toLowerCase();
  return {
    server: values.server,
    token,
    caFile: values["ca-file"],
    name,
    dataDir: values["data-dir"] ?? `/var/lib/edgeplane/${name}`,
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
    registryLogins: (values["registry-login"] ?? "").split(",").filter(Boolean),
  };
}

/** Entry point: start, and on SIGTERM/SIGINT stop (pods keep running). */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  let options: ReturnType<typeof parseCli>;
  try {
    options = parseCli(argv);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
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
