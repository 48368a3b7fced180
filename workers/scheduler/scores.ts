/**
 * Scoring: among nodes that pass the filters, prefer the least allocated,
 * the best balanced, the one with fewest pods of the same owner, and the one
 * matching the most preferred node affinity. Each score is 0..100; weights 1.
 */
import { matchTerm, type PodInfo } from "../reconcile/placement/filters.ts";
import type { NodeInfo } from "../reconcile/placement/node-info.ts";
import { nonZeroRequests } from "../reconcile/placement/resources.ts";

function fraction(used: number, capacity: number): number {
  return capacity > 0 ? Math.min(1, used / capacity) : 1;
}

/** Score every feasible node for a pod; returns one total per node, same order. */
export function scoreNodes(pod: PodInfo, nodes: NodeInfo[], ownerUid: string | undefined): number[] {
  const nz = nonZeroRequests(pod.requests);
  const preferred =
    pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  let maxOwner = 0;
  let maxAffinity = 0;
  const affinity: number[] = new Array(nodes.length).fill(0);
  const owned: number[] = new Array(nodes.length).fill(0);
  for (let i = 0; i < nodes.length; i++) {
    if (ownerUid) {
      owned[i] = nodes[i].owners.get(ownerUid) ?? 0;
      if (owned[i] > maxOwner) maxOwner = owned[i];
    }
    for (const pref of preferred) {
      if (matchTerm(pref.preference, nodes[i].labels, nodes[i].name)) affinity[i] += pref.weight;
    }
    if (affinity[i] > maxAffinity) maxAffinity = affinity[i];
  }
  return nodes.map((node, i) => {
    const cpu = fraction(node.nonZeroCpu + nz.cpu, node.allocatable("cpu"));
    const mem = fraction(node.nonZeroMemory + nz.memory, node.allocatable("memory"));
    const leastAllocated = ((1 - cpu + (1 - mem)) / 2) * 100;
    const balanced = (1 - Math.abs(cpu - mem) / 2) * 100;
    const spread = maxOwner > 0 ? ((maxOwner - owned[i]) / maxOwner) * 100 : 100;
    const preferredAffinity = maxAffinity > 0 ? (affinity[i] / maxAffinity) * 100 : 0;
    return leastAllocated + balanced + spread + preferredAffinity;
  });
}
