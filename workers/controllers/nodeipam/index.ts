/**
 * Node IPAM controller (kube's nodeipam range allocator): every Node gets a
 * distinct block of the cluster CIDR as spec.podCIDR and spec.podCIDRs. The
 * allocation map is never stored: each allocation rebuilds it from the Nodes
 * the cache holds, so a restart loses nothing and a deleted Node's block is
 * free again as soon as it is gone. A Node that cannot get a block (range
 * full) gets a CIDRNotAvailable Warning event and is tried again when a Node
 * is deleted.
 */
import { R } from "../../client/resources.ts";
import type { Node } from "../../reconcile/k8s.ts";
import {
  ALL_KEYS,
  type Controller,
  type Deps,
  type ObjectEvent,
  type Result,
} from "../../reconcile/types.ts";
import { blockCidr, blockIndex, type CidrSet, cidrSet } from "./cidr.ts";

/** Blocks already held by some Node (their spec.podCIDRs, or the older single spec.podCIDR). */
function usedBlocks(nodes: Node[], held: (cidr: string) => number | undefined): Set<number> {
  const used = new Set<number>();
  for (const n of nodes) {
    const cidrs = (n.spec?.podCIDRs as string[] | undefined) ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []);
    for (const c of cidrs) {
      const i = held(c);
      if (i !== undefined) used.add(i);
    }
  }
  return used;
}

/**
 * The used-block set per list the cache handed out, and each CIDR's block index per cluster CIDR.
 * Caches hand out the same array until the resource changes, so the Nodes looked at in one pass share one
 * scan; after a write takes a block the list changes and is scanned again, but a scan is then a map
 * lookup per Node instead of parsing every CIDR (the parse dominated: 1,000 new Nodes meant a million).
 */
const usedByList = new WeakMap<Node[], { set: string; used: Set<number> }>();
const indexes = new Map<string, Map<string, number | undefined>>();
function usedBlocksOf(nodes: Node[], set: CidrSet): Set<number> {
  const id = `${set.cidr}/${set.maskSize}`;
  const memo = usedByList.get(nodes);
  if (memo?.set === id) return memo.used;
  let index = indexes.get(id);
  // Bounded: CIDRs written by hand on Nodes long gone would otherwise stay forever.
  if (!index || index.size > set.count + 1024) {
    // One cluster CIDR in practice; a changed setting must not keep the old one's map alive.
    indexes.clear();
    index = new Map();
    indexes.set(id, index);
  }
  const known = index;
  const used = usedBlocks(nodes, (cidr) => {
    if (!known.has(cidr)) known.set(cidr, blockIndex(set, cidr));
    return known.get(cidr);
  });
  usedByList.set(nodes, { set: id, used });
  return used;
}

/** Give Node `key` a pod CIDR if it has none. */
async function reconcileNodeIpam(key: string, deps: Deps): Promise<Result | undefined> {
  const node = await deps.cache.get<Node>(R.nodes, undefined, key);
  if (!node || node.spec?.podCIDR || node.metadata.deletionTimestamp) return undefined;
  const set = cidrSet(deps.config.clusterCIDR, deps.config.nodeCIDRMaskSize);
  const used = usedBlocksOf(await deps.cache.list<Node>(R.nodes), set);
  let free = -1;
  for (let i = 0; i < set.count; i++)
    if (!used.has(i)) {
      free = i;
      break;
    }
  if (free < 0) {
    await deps.recorder.event(
      { apiVersion: "v1", kind: "Node", ...node },
      "Warning",
      "CIDRNotAvailable",
      `Node ${key} status is now: CIDRNotAvailable (cluster CIDR ${set.cidr} has no free /${set.maskSize})`,
    );
    return undefined;
  }
  const cidr = blockCidr(set, free);
  // The resourceVersion makes this an optimistic write: a Node changed meanwhile answers 409 and is retried.
  await deps.client.patch<Node>(R.nodes, undefined, key, "merge", {
    metadata: { resourceVersion: node.metadata.resourceVersion },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
  });
  return undefined;
}

/** A deleted Node frees its block: every Node still waiting for one is looked at again. */
function keysFor(event: ObjectEvent): string[] {
  if (event.type === "DELETED") return [ALL_KEYS];
  return [event.object.metadata?.name ?? ""];
}

/** The node IPAM controller. */
export const nodeIpamController: Controller = {
  name: "nodeipam",
  watches: ["/nodes"],
  keys: async (deps) => (await deps.cache.list(R.nodes)).map((n) => n.metadata?.name ?? ""),
  keysFor,
  reconcile: reconcileNodeIpam,
};
