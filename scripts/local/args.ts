/** `npm start` flags. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";

/** What `npm start -- [flags]` asked for. */
export interface StartOptions {
  /** Number of local node agents (0: control plane only). */
  nodes: number;
  /** HTTPS port on 127.0.0.1 (0: any free port). */
  port: number;
  /** Loopback pull-only registry port for the node agents (0: any free port). */
  registryPort: number;
  /** HTTPS port on 127.0.0.1 serving Ingress by Host (0: any free port). */
  ingressPort: number;
  /** Where certificates, token, kubeconfig, state and logs live. */
  stateDir: string;
  /** Skip scripts/setup-host.sh even when packages are missing. */
  skipSetup: boolean;
  /** --runtimes for every node (wasm, cri); undefined: both when containers can run here, else wasm. */
  runtimes?: string[];
  /** The pod network: node N gets its (N-1)th /24 (until node IPAM hands out podCIDRs). */
  podNetwork: string;
  /** The host bridge local nodes' pods attach to. */
  cniBridge: string;
  /** Each node in its own network namespace (--node-netns / --no-node-netns); undefined: when nodes >= 2 and it can. */
  nodeNetns?: boolean;
  /** The node network of --node-netns: the host takes .1, node i .10+i. */
  nodeNetwork: string;
  /** Agents play kube-proxy and serve cluster DNS and the API to pods (off with --no-service-proxy). */
  serviceProxy: boolean;
  help: boolean;
}

/** Usage text for --help. */
export const USAGE = `Usage: npm start -- [--nodes N] [--port P] [--registry-port P] [--ingress-port P] [--state-dir DIR] [--skip-setup]
                     [--runtimes cri,wasm] [--pod-network CIDR] [--cni-bridge NAME] [--no-service-proxy]
                     [--[no-]node-netns] [--node-network CIDR]

  --nodes N          local node agents to start (default 1; 0 for the control plane only)
  --port P           HTTPS API port on 127.0.0.1 (default 6443; 0 picks a free one)
  --registry-port P  loopback, pull-only registry for images in pods (default 6500; 0: any)
  --ingress-port P   HTTPS port on 127.0.0.1 serving Ingresses by Host (default 8443; 0: any)
  --state-dir DIR    certificates, admin token, kubeconfig, cluster state and logs
                     (default .edgeplane/, or $EDGEPLANE_STATE_DIR)
  --skip-setup       do not run scripts/setup-host.sh for missing Debian packages
  --runtimes LIST    what local nodes run: cri (containers), wasm, or both (default: cri,wasm when
                     containerd can run here, else wasm); the first serves pods without a RuntimeClass
  --pod-network CIDR pod addresses (the Worker's CLUSTER_CIDR): node IPAM gives each node a /24 of it, or
                     a smaller block when it holds fewer /24s than nodes (default 10.244.0.0/16, or
                     $EDGEPLANE_POD_NETWORK): give two clusters on one host different ones
  --cni-bridge NAME  host bridge for the nodes' pods (default edgeplane0, or $EDGEPLANE_CNI_BRIDGE)
  --node-netns       each node in its own network namespace with its own address (default with 2 or more
                     nodes when running as root; --no-node-netns: all nodes share the host's network)
  --node-network CIDR  the nodes' addresses with --node-netns (default 172.30.0.0/24, or
                     $EDGEPLANE_NODE_NETWORK): the host is .1, node-1 .11, node-2 .12, ...
  --no-service-proxy nodes do not program Services (nftables), serve cluster DNS or the API at 10.96.0.1
                     (on by default where it can run: as root with nft)`;

/** Parse argv (after `npm start --`); throws with a message on bad flags. */
export function parseStartArgs(argv: string[], root: string, env: NodeJS.ProcessEnv): StartOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: "string", default: "1" },
      port: { type: "string", default: env.EDGEPLANE_PORT ?? "6443" },
      "registry-port": { type: "string", default: env.EDGEPLANE_REGISTRY_PORT ?? "6500" },
      "ingress-port": { type: "string", default: env.EDGEPLANE_INGRESS_PORT ?? "8443" },
      "state-dir": { type: "string", default: env.EDGEPLANE_STATE_DIR ?? resolve(root, ".edgeplane") },
      "skip-setup": { type: "boolean", default: false },
      runtimes: { type: "string" },
      "pod-network": { type: "string", default: env.EDGEPLANE_POD_NETWORK ?? "10.244.0.0/16" },
      "cni-bridge": { type: "string", default: env.EDGEPLANE_CNI_BRIDGE ?? "edgeplane0" },
      "node-netns": { type: "boolean" },
      "node-network": { type: "string", default: env.EDGEPLANE_NODE_NETWORK ?? "172.30.0.0/24" },
      "no-service-proxy": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowNegative: true,
  });
  const nodes = Number(values.nodes);
  const port = Number(values.port);
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > 50)
    throw new Error(`--nodes must be 0..50, not "${values.nodes}"`);
  const registryPort = Number(values["registry-port"]);
  const ingressPort = Number(values["ingress-port"]);
  for (const [flag, v] of [
    ["--port", port],
    ["--registry-port", registryPort],
    ["--ingress-port", ingressPort],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`${flag} must be 0..65535, not "${v}"`);
  }
  const runtimes = values.runtimes?.split(",").filter(Boolean);
  for (const r of runtimes ?? [])
    if (r !== "cri" && r !== "wasm") throw new Error(`--runtimes takes cri and/or wasm, not "${r}"`);
  if (runtimes && !runtimes.length) throw new Error("--runtimes needs at least one of cri, wasm");
  const podNetwork = values["pod-network"] as string;
  const prefix = Number(/^\d{1,3}(\.\d{1,3}){3}\/(\d{1,2})$/.exec(podNetwork)?.[2] ?? Number.NaN);
  if (!(prefix >= 8 && prefix <= 24))
    throw new Error(`--pod-network must be an IPv4 CIDR of /8 to /24, not "${podNetwork}"`);
  if (nodeCidrMask(podNetwork, nodes) > 26)
    throw new Error(
      `--pod-network ${podNetwork} has room for ${2 ** (26 - prefix)} node(s) of a /26, not ${nodes}`,
    );
  const cniBridge = values["cni-bridge"] as string;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(cniBridge))
    throw new Error(`--cni-bridge must be an interface name, not "${cniBridge}"`);
  return {
    podNetwork,
    cniBridge,
    nodeNetns: values["node-netns"] as boolean | undefined,
    nodeNetwork: values["node-network"] as string,
    serviceProxy: !values["no-service-proxy"],
    runtimes,
    nodes,
    port,
    registryPort,
    ingressPort,
    stateDir: resolve(values["state-dir"] as string),
    skipSetup: values["skip-setup"] as boolean,
    help: values.help as boolean,
  };
}

/** Node IPAM's per-node mask: a /24 each, smaller only when the pod network has fewer /24s than nodes. */
export function nodeCidrMask(podNetwork: string, nodes: number): number {
  const prefix = Number(podNetwork.split("/")[1]);
  return Math.max(24, prefix + Math.ceil(Math.log2(Math.max(nodes, 1))));
}
