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
  // Per-node counts only when some pod could differ (an owner, preferred terms): hundreds of nodes per pod.
  const owned = ownerUid ? nodes.map((n) => n.owners.get(ownerUid) ?? 0) : undefined;
  const affinity = preferred.length
    ? nodes.map((n) => {
        let sum = 0;
        for (const pref of preferred) if (matchTerm(pref.preference, n.labels, n.name)) sum += pref.weight;
        return sum;
      })
    : undefined;
  let maxOwner = 0;
  for (const c of owned ?? []) if (c > maxOwner) maxOwner = c;
  let maxAffinity = 0;
  for (const a of affinity ?? []) if (a > maxAffinity) maxAffinity = a;
  const scores = new Array<number>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const cpu = fraction(node.nonZeroCpu + nz.cpu, node.allocatable("cpu"));
    const mem = fraction(node.nonZeroMemory + nz.memory, node.allocatable("memory"));
    const leastAllocated = ((1 - cpu + (1 - mem)) / 2) * 100;
    const balanced = (1 - Math.abs(cpu - mem) / 2) * 100;
    const spread = owned && maxOwner > 0 ? ((maxOwner - owned[i]) / maxOwner) * 100 : 100;
    const preferredAffinity = affinity && maxAffinity > 0 ? (affinity[i] / maxAffinity) * 100 : 0;
    scores[i] = leastAllocated + balanced + spread + preferredAffinity;
  }
  return scores;
}
