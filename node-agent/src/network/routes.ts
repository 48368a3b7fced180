/**
 * Routes between nodes (flannel's host-gw backend): every other Node's
 * spec.podCIDR is routed via that Node's InternalIP, so pod-to-pod traffic
 * crosses nodes unencapsulated. This only works when the nodes share an L2
 * network (the gateway must be directly reachable); nodes on different
 * networks need an overlay instead (VXLAN as flannel's vxlan backend, or
 * WireGuard as flannel's wireguard backend), which this module does not build.
 *
 * Our routes carry their own protocol number, so a restarted agent finds and
 * prunes the ones it installed before without touching anyone else's.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { KubeClient, KubeObject } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import type { Clock } from "../clock.ts";

const execFileP = promisify(execFile);

/** The rtnetlink protocol number that marks our routes (any unassigned value; see /etc/iproute2/rt_protos). */
export const ROUTE_PROTO = "77";

/** A route to a peer node's pod CIDR. */
export interface PeerRoute {
  cidr: string;
  via: string;
  node: string;
}

/** The kernel's routing table, as far as our routes go. */
export interface RouteTable {
  /** Our routes now installed (destination → gateway). */
  list(): Promise<Map<string, string>>;
  replace(cidr: string, via: string): Promise<void>;
  remove(cidr: string): Promise<void>;
}

/** The routing table through iproute2; `netns` runs it in a named network namespace (tests). */
export function ipRouteTable(netns?: string): RouteTable {
  const ip = (...args: string[]) => execFileP("ip", netns ? ["-n", netns, ...args] : args);
  return {
    async list() {
      const { stdout } = await ip("-j", "route", "show", "proto", ROUTE_PROTO);
      const routes = JSON.parse(stdout || "[]") as { dst: string; gateway?: string }[];
      return new Map(routes.map((r) => [r.dst, r.gateway ?? ""]));
    },
    async replace(cidr, via) {
      await ip("route", "replace", cidr, "via", via, "proto", ROUTE_PROTO);
    },
    async remove(cidr) {
      await ip("route", "del", cidr, "proto", ROUTE_PROTO);
    },
  };
}

type NodeLike = KubeObject & {
  spec?: { podCIDR?: string };
  status?: { addresses?: { type: string; address: string }[] };
};

const internalIP = (n: NodeLike) => n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;

/** The routes this node wants: every other node with a pod CIDR and an InternalIP other than ours. Pure. */
export function peerRoutes(nodes: NodeLike[], self: string, selfIP: string): PeerRoute[] {
  const out: PeerRoute[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name ?? "";
    const cidr = n.spec?.podCIDR;
    const via = internalIP(n);
    // A node sharing our address shares our host: its bridge is already on-link, a route would loop.
    if (name === self || !cidr || !via || via === selfIP) continue;
    out.push({ cidr, via, node: name });
  }
  return out;
}

/**
 * Keeps the kernel's routes equal to the wanted set. Changes apply one at a
 * time in order; a route that fails (its gateway not on a connected network)
 * is logged with the reason and tried again on the next change or resync.
 */
export class NodeRoutes {
  private nodes = new Map<string, NodeLike>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly table: RouteTable,
    private readonly self: { name: string; ip: string },
    private readonly log: (message: string) => void,
    /** Called with this node's own spec.podCIDR whenever it appears or changes. */
    private readonly onOwnPodCidr: (cidr: string) => Promise<void> | void = () => {},
  ) {}

  private ownCidr?: string;

  /** Replace the whole node set (after a list). */
  synced(nodes: NodeLike[]): Promise<void> {
    this.nodes = new Map(nodes.map((n) => [n.metadata?.name ?? "", n]));
    return this.apply();
  }

  /** A node was added or changed. */
  upsert(node: NodeLike): Promise<void> {
    this.nodes.set(node.metadata?.name ?? "", node);
    return this.apply();
  }

  /** A node is gone. */
  remove(node: NodeLike): Promise<void> {
    this.nodes.delete(node.metadata?.name ?? "");
    return this.apply();
  }

  private apply(): Promise<void> {
    this.chain = this.chain
      .then(() => this.reconcile())
      .catch((e) => this.log(`routes: ${(e as Error).message}`));
    return this.chain;
  }

  private async reconcile(): Promise<void> {
    const own = this.nodes.get(this.self.name)?.spec?.podCIDR;
    if (own && own !== this.ownCidr) {
      this.ownCidr = own;
      await this.onOwnPodCidr(own);
    }
    const wanted = peerRoutes([...this.nodes.values()], this.self.name, this.self.ip);
    const have = await this.table.list();
    const keep = new Set(wanted.map((r) => r.cidr));
    for (const cidr of have.keys()) if (!keep.has(cidr)) await this.table.remove(cidr);
    for (const r of wanted) {
      if (have.get(r.cidr) === r.via) continue;
      try {
        await this.table.replace(r.cidr, r.via);
      } catch (error) {
        const why = ((error as { stderr?: string }).stderr || (error as Error).message).trim();
        this.log(
          `routes: cannot route ${r.cidr} via node ${r.node} (${r.via}): ${why}; ` +
            "host-gw needs the nodes on one L2 network (otherwise an overlay: VXLAN or WireGuard)",
        );
      }
    }
  }
}

/** Watch every Node (list, then watch; relist after 410) and feed `routes` until `signal` aborts. */
export async function watchNodes(
  client: KubeClient,
  routes: NodeRoutes,
  clock: Clock,
  signal: AbortSignal,
  log: (message: string) => void = () => {},
): Promise<void> {
  let resourceVersion: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.list<NodeLike>(R.nodes);
        resourceVersion = list.metadata.resourceVersion ?? "0";
        await routes.synced(list.items);
      }
      for await (const event of client.watch<NodeLike>(R.nodes, undefined, {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 300,
        signal,
      })) {
        failures = 0;
        if (event.type === "ERROR") {
          resourceVersion = undefined;
          break;
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === "BOOKMARK") continue;
        await (event.type === "DELETED" ? routes.remove(event.object) : routes.upsert(event.object));
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.code === 410) resourceVersion = undefined;
      else {
        failures++;
        log(`node watch: ${(error as Error).message}; retrying`);
        await clock.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal);
      }
    }
  }
}
