/**
 * What `npm start` does with the node network (netns.ts): decide whether
 * nodes get namespaces, build it and say where each node is, and route each
 * node's pod CIDR from the host once node IPAM has given it one.
 */
import type { ClusterFetch } from "../lib/client.ts";
import type { StartOptions } from "./args.ts";
import {
  createNodeNetwork,
  hostForwards,
  type NodeNetwork,
  type NodeNetworkPlan,
  nodeNetnsProblem,
  nodeNetworkUser,
  planNodeNetwork,
  routeWhenAssigned,
} from "./netns.ts";
import { stopProcessesMentioning } from "./process-tree.ts";

/**
 * The node network when nodes get namespaces: asked for (--node-netns), or by default with 2+ nodes where it
 * can work (else one line through `say` tells why). Throws, with a message for the user, when asked for and
 * impossible or when --node-network does not fit.
 */
export async function chooseNodeNetwork(
  options: StartOptions,
  say: (message: string) => void,
): Promise<NodeNetworkPlan | undefined> {
  if (options.nodes === 0 || options.nodeNetns === false) return undefined;
  if (options.nodeNetns === undefined && options.nodes < 2) return undefined;
  const problem = await nodeNetnsProblem();
  if (problem && options.nodeNetns) throw new Error(`--node-netns: ${problem}`);
  if (problem) {
    say(`nodes share the host's network: ${problem}`);
    return undefined;
  }
  const names = Array.from({ length: options.nodes }, (_, i) => `node-${i + 1}`);
  const plan = planNodeNetwork(options.stateDir, options.nodeNetwork, names);
  // Before anything starts: another cluster's node bridge on the same network would make both unreachable.
  const user = await nodeNetworkUser(plan);
  if (user)
    throw new Error(
      `--node-network ${plan.cidr} is already in use on ${user} (another cluster?); pick another with --node-network`,
    );
  return plan;
}

/** Build the node network (after sweeping forwarders a killed start left) for the API and registry ports. */
export async function startNodeNetwork(
  plan: NodeNetworkPlan,
  stateDir: string,
  ports: { api: number; registry: number },
  say: (message: string) => void,
): Promise<NodeNetwork> {
  const marker = `${stateDir}/netns-forwarder`;
  await stopProcessesMentioning(marker);
  const network = await createNodeNetwork(plan, [ports.api, ports.registry], marker);
  const nodes = plan.nodes.map((n) => `${n.name} ${n.ip} (netns ${n.ns})`).join(", ");
  say(`node network ${plan.cidr} on bridge ${plan.bridge}, host ${plan.hostIP}: ${nodes}`);
  if (!(await hostForwards()))
    say(
      "the host does not forward IPv4: nodes and pods reach nothing past it (sysctl -w net.ipv4.ip_forward=1)",
    );
  return network;
}

/** Route node `name`'s pod CIDR from the host once node IPAM gave it one (best effort; says what it did). */
export async function routeToPods(
  fetcher: ClusterFetch,
  network: NodeNetwork,
  name: string,
  stopping: () => boolean,
  say: (message: string) => void,
): Promise<void> {
  const podCidr = async () => {
    const res = await fetcher(`/api/v1/nodes/${name}`);
    if (!res.ok) return void (await res.arrayBuffer());
    return ((await res.json()) as { spec?: { podCIDR?: string } }).spec?.podCIDR;
  };
  const cidr = await routeWhenAssigned(network, name, podCidr, stopping).catch((error) => {
    if (!stopping()) say(`cannot route ${name}'s pods from the host: ${(error as Error).message}`);
    return undefined;
  });
  if (cidr) say(`host routes ${name}'s pods (${cidr}) via ${network.node(name)?.ip}`);
}
