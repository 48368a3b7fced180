/**
 * StatefulSet controller: pods with stable names `<set>-<ordinal>`.
 * OrderedReady creates ordinal i only once 0..i-1 are Running and Ready and
 * removes from the highest ordinal, one at a time; Parallel does both at
 * once. RollingUpdate replaces pods of an old revision from the highest
 * ordinal down (respecting `partition`), one at a time. Finished pods are
 * recreated. Each pod's claims from volumeClaimTemplates are created before
 * it (claims.ts).
 * Each template is kept as a ControllerRevision (history.ts); pods carry the
 * revision's name in `controller-revision-hash`, as in kube.
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import {
  canonicalJson,
  clone,
  controllerRef,
  isAvailable,
  isReady,
  isTerminal,
  keyOf,
  type LabelSelector,
  type Pod,
  type PodTemplate,
  splitKey,
} from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { currentRevision, ownedRevisions, REVISION_HASH_LABEL, truncateHistory } from "../history.ts";
import { ownerKeys } from "../keys.ts";
import { createExpected, deletePods, podFromTemplate } from "../pods.ts";
import { type ClaimSpec, createClaims, mountClaims } from "./claims.ts";

/** A StatefulSet (apps/v1). */
export interface StatefulSet extends KubeObject {
  metadata: ObjectMeta;
  spec: ClaimSpec & {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplate;
    serviceName?: string;
    podManagementPolicy?: "OrderedReady" | "Parallel";
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    updateStrategy?: { type?: "RollingUpdate" | "OnDelete"; rollingUpdate?: { partition?: number } };
  };
  status?: { collisionCount?: number; currentRevision?: string; [field: string]: unknown };
}

const REVISION_LABEL = REVISION_HASH_LABEL;

/** The ordinal of a pod named `<set>-<n>`, or -1. */
function ordinalOf(set: string, pod: Pod): number {
  const name = pod.metadata.name ?? "";
  if (!name.startsWith(`${set}-`)) return -1;
  const n = name.slice(set.length + 1);
  return /^\d+$/.test(n) ? Number(n) : -1;
}

function podFor(sts: StatefulSet, ordinal: number, revision: string): Pod {
  const name = `${sts.metadata.name}-${ordinal}`;
  const template = clone(sts.spec.template);
  template.metadata = {
    ...template.metadata,
    labels: {
      ...template.metadata?.labels,
      [REVISION_LABEL]: revision,
      "statefulset.kubernetes.io/pod-name": name,
      "apps.kubernetes.io/pod-index": String(ordinal),
    },
  };
  template.spec.hostname = name;
  if (sts.spec.serviceName) template.spec.subdomain = sts.spec.serviceName;
  const pod = podFromTemplate(template, sts, name);
  mountClaims(pod, sts.spec, sts.metadata.name ?? "", ordinal);
  return pod;
}

/** Reconcile one StatefulSet ("namespace/name"). */
export async function reconcileStatefulSet(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const cached = await deps.cache.get<StatefulSet>(R.statefulsets, namespace, name);
  if (!cached || cached.metadata.deletionTimestamp) return undefined;
  const sts = { apiVersion: "apps/v1", kind: "StatefulSet", ...clone(cached) } as StatefulSet;
  const revisions = await ownedRevisions(deps, sts);
  const revision = (await currentRevision(deps, R.statefulsets, sts, revisions)).metadata.name ?? "";
  const replicas = sts.spec.replicas ?? 1;
  const parallel = sts.spec.podManagementPolicy === "Parallel";
  const now = deps.now();
  const minReady = sts.spec.minReadySeconds ?? 0;
  const owned = (await deps.cache.list<Pod>(R.pods)).filter(
    (p) => p.metadata.namespace === namespace && controllerRef(p)?.uid === sts.metadata.uid,
  );
  const byOrdinal = new Map<number, Pod>();
  for (const p of owned) byOrdinal.set(ordinalOf(name, p), p);
  const healthy = (p: Pod | undefined) =>
    Boolean(p && !p.metadata.deletionTimestamp && p.status?.phase === "Running" && isReady(p));

  // Creations or deletions the cache has not shown yet: wait for them before acting again (expectations).
  const manage = deps.expectations.satisfied(sts.metadata.uid);
  // Finished pods are replaced: delete them first (recreated on a later pass).
  const finished = owned.filter((p) => isTerminal(p) && !p.metadata.deletionTimestamp);
  if (finished.length && manage) await deletePods(deps, sts, finished);

  let acted = finished.length > 0 || !manage;
  for (let i = 0; i < replicas && !acted; i++) {
    const pod = byOrdinal.get(i);
    if (!pod) {
      await createClaims(deps, sts, i);
      deps.expectations.expectCreations(sts.metadata.uid, 1);
      const created = await createExpected(deps, sts.metadata.uid, podFor(sts, i, revision));
      await deps.recorder.event(
        sts,
        "Normal",
        "SuccessfulCreate",
        `create Pod ${created.metadata?.name} in StatefulSet ${name} successful`,
      );
      if (!parallel) acted = true;
    } else if (!parallel && !healthy(pod)) acted = true; // OrderedReady: wait for this one before the next
  }
  // Scale down: highest ordinal first; OrderedReady one at a time and only when the rest are healthy.
  const surplus = [...byOrdinal.entries()]
    .filter(([i, p]) => (i >= replicas || i < 0) && !p.metadata.deletionTimestamp)
    .sort(([a], [b]) => b - a)
    .map(([, p]) => p);
  if (surplus.length && !acted) {
    const ready = [...byOrdinal.entries()]
      .filter(([i]) => i >= 0 && i < replicas)
      .every(([, p]) => healthy(p));
    if (parallel) await deletePods(deps, sts, surplus);
    else if (ready && ![...byOrdinal.values()].some((p) => p.metadata.deletionTimestamp)) {
      await deletePods(deps, sts, surplus.slice(0, 1));
    }
    acted = true;
  }
  // Rolling update: one pod at a time from the top, down to the partition.
  const strategy = sts.spec.updateStrategy?.type ?? "RollingUpdate";
  if (!acted && strategy === "RollingUpdate") {
    const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    const allHealthy = [...Array(replicas).keys()].every((i) => healthy(byOrdinal.get(i)));
    for (let i = replicas - 1; i >= partition && allHealthy; i--) {
      const pod = byOrdinal.get(i);
      if (pod && pod.metadata.labels?.[REVISION_LABEL] !== revision) {
        await deletePods(deps, sts, [pod]);
        break;
      }
    }
  }

  const live = [...byOrdinal.entries()]
    .filter(([i, p]) => i >= 0 && !p.metadata.deletionTimestamp && !isTerminal(p))
    .map(([, p]) => p);
  const updated = live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === revision).length;
  const status = {
    ...sts.status,
    observedGeneration: sts.metadata.generation ?? 1,
    replicas: live.length,
    readyReplicas: live.filter(isReady).length,
    availableReplicas: live.filter((p) => isAvailable(p, minReady, now)).length,
    currentReplicas: updated === live.length ? updated : live.length - updated,
    updatedReplicas: updated,
    updateRevision: revision,
    currentRevision:
      updated === live.length && live.length === replicas
        ? revision
        : (sts.status?.currentRevision ?? revision),
  };
  // Keep what the status and the live pods point at; older unused revisions go beyond the limit.
  const inUse = new Set([
    revision,
    status.currentRevision,
    ...owned.map((p) => p.metadata.labels?.[REVISION_LABEL]),
  ]);
  await truncateHistory(deps, sts, revisions, new Set([...inUse].filter((r): r is string => Boolean(r))));
  if (canonicalJson(status) !== canonicalJson(sts.status ?? {})) {
    await deps.client.update(R.statefulsets, namespace, { ...sts, status }, { subresource: "status" });
  }
  return undefined;
}

/** The StatefulSet controller. */
export const statefulSetController: Controller = {
  name: "statefulset",
  // Revisions too, so one deleted by hand is recreated.
  watches: ["apps/statefulsets", "/pods", "apps/controllerrevisions"],
  keys: async (deps) => (await deps.cache.list(R.statefulsets)).map(keyOf),
  keysFor: ownerKeys("apps/statefulsets", "StatefulSet", ["/pods", "apps/controllerrevisions"]),
  reconcile: reconcileStatefulSet,
};
