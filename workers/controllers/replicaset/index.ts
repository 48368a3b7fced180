/**
 * ReplicaSet controller: keep spec.replicas active pods matching the
 * selector (adopting orphans, releasing pods that stopped matching), and
 * publish status (replicas, ready, available, observedGeneration).
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import {
  isActive,
  isAvailable,
  isReady,
  keyOf,
  type LabelSelector,
  matchesSelector,
  type Pod,
  type PodTemplate,
  splitKey,
} from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { ownerKeys } from "../keys.ts";
import { claimPods, createPods, deletePods, deletionOrder } from "../pods.ts";

/** A ReplicaSet (apps/v1). */
export interface ReplicaSet extends KubeObject {
  metadata: ObjectMeta;
  spec: { replicas?: number; minReadySeconds?: number; selector: LabelSelector; template: PodTemplate };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    [field: string]: unknown;
  };
}

/** Cap on pods created or deleted in one reconcile (kube's burstReplicas). */
const BURST = 500;

/** Reconcile one ReplicaSet ("namespace/name"). */
export async function reconcileReplicaSet(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const rs = await deps.cache.get<ReplicaSet>(R.replicasets, namespace, name);
  if (!rs) return undefined;
  const rsWithKind = { apiVersion: "apps/v1", kind: "ReplicaSet", ...rs };
  const pods = await deps.cache.list<Pod>(R.pods);
  const claimed = await claimPods(rsWithKind, rs.spec.selector, pods, deps);
  const active = claimed.filter(isActive);
  const minReady = rs.spec.minReadySeconds ?? 0;
  let requeue: number | undefined;

  // Creations or deletions still unseen by the cache: acting on its lagging count would do them twice.
  if (!rs.metadata.deletionTimestamp && deps.expectations.satisfied(rs.metadata.uid)) {
    const want = rs.spec.replicas ?? 1;
    const diff = want - active.length;
    if (diff > 0) await createPods(deps, rsWithKind, rs.spec.template, Math.min(diff, BURST));
    else if (diff < 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(-diff, BURST));
      await deletePods(deps, rsWithKind, victims);
    }
  }

  const now = deps.now();
  const templateLabels = rs.spec.template.metadata?.labels ?? {};
  const status = {
    ...rs.status,
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) =>
      matchesSelector({ matchLabels: templateLabels }, p.metadata.labels),
    ).length,
    readyReplicas: active.filter(isReady).length,
    availableReplicas: active.filter((p) => isAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata.generation ?? 1,
  };
  // Pods ready but not yet available for minReadySeconds: look again when they will be.
  if (minReady > 0 && status.readyReplicas > status.availableReplicas) requeue = minReady * 1000;
  if (
    status.replicas !== rs.status?.replicas ||
    status.fullyLabeledReplicas !== rs.status?.fullyLabeledReplicas ||
    status.readyReplicas !== rs.status?.readyReplicas ||
    status.availableReplicas !== rs.status?.availableReplicas ||
    status.observedGeneration !== rs.status?.observedGeneration
  ) {
    await deps.client.update(R.replicasets, namespace, { ...rs, status }, { subresource: "status" });
  }
  return requeue === undefined ? undefined : { requeueAfterMs: requeue };
}

/** The ReplicaSet controller. */
export const replicaSetController: Controller = {
  name: "replicaset",
  watches: ["apps/replicasets", "/pods"],
  keys: async (deps) => (await deps.cache.list(R.replicasets)).map(keyOf),
  keysFor: ownerKeys("apps/replicasets", "ReplicaSet", ["/pods"], true),
  reconcile: reconcileReplicaSet,
};
