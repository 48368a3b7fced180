/**
 * The denominator of a percentage budget (kube's getExpectedScale): the sum
 * of the scales of the controllers owning the selected pods, each counted
 * once. A ReplicaSet owned by a Deployment counts as that Deployment; any
 * other owner through its scale subresource (custom resources: kube's
 * getScaleController, found by discovery); pods without a controller are
 * reported as unmanaged; an owner with no scale (DaemonSet, Job) or one that
 * is gone is an error, as in kube.
 */
import type { KubeClient, ResourceRef } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { controllerRef, type Pod } from "../../reconcile/k8s.ts";
import type { ObjectCache } from "../../reconcile/types.ts";
import { resourceFor, type Scale } from "../hpa/target.ts";

/** An owner whose scale cannot be found: the budget cannot be computed. */
export class ScaleError extends Error {}

interface Scalable {
  metadata?: { uid?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  spec?: { replicas?: number };
}

const SCALABLE: Record<string, ResourceRef> = {
  ReplicaSet: R.replicasets,
  StatefulSet: R.statefulsets,
  ReplicationController: R.replicationcontrollers,
};

/** The controller that sets a pod's scale (uid and replicas), following a ReplicaSet up to its Deployment. */
async function scaleOf(
  pod: Pod,
  ref: { apiVersion: string; kind: string; name: string; uid: string },
  cache: ObjectCache,
  client: KubeClient,
): Promise<{ uid: string; replicas: number } | undefined> {
  const resource = SCALABLE[ref.kind];
  if (!resource) return scaleSubresource(pod, ref, client);
  const owner = await cache.get<Scalable & Pod>(resource, pod.metadata.namespace, ref.name);
  if (!owner || owner.metadata?.uid !== ref.uid) return undefined;
  const parent = owner.metadata ? controllerRef(owner) : undefined;
  if (ref.kind === "ReplicaSet" && parent?.kind === "Deployment") {
    const deployment = await cache.get<Scalable & Pod>(R.deployments, pod.metadata.namespace, parent.name);
    if (!deployment || deployment.metadata?.uid !== parent.uid) return undefined;
    return { uid: parent.uid, replicas: deployment.spec?.replicas ?? 1 };
  }
  return { uid: ref.uid, replicas: owner.spec?.replicas ?? 1 };
}

/** An owner of any other kind, through its scale subresource, if it has one and is the same object. */
async function scaleSubresource(
  pod: Pod,
  ref: { apiVersion: string; kind: string; name: string; uid: string },
  client: KubeClient,
): Promise<{ uid: string; replicas: number } | undefined> {
  const resource = await resourceFor(client, ref.apiVersion, ref.kind).catch(() => undefined);
  if (!resource) return undefined;
  const scale = await client
    .get<Scale>(resource, pod.metadata.namespace, ref.name, "scale")
    .catch(() => undefined);
  if (!scale || scale.metadata?.uid !== ref.uid) return undefined;
  return { uid: ref.uid, replicas: scale.spec?.replicas ?? 0 };
}

/** Sum of the owners' scales over `pods`, and the names of pods without a controller. */
export async function expectedScale(
  pods: Pod[],
  cache: ObjectCache,
  client: KubeClient,
): Promise<{ expected: number; unmanaged: string[] }> {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  const seen = new Set<string>();
  for (const pod of pods) {
    const ref = controllerRef(pod);
    if (!ref) {
      unmanaged.push(pod.metadata.name ?? "");
      continue;
    }
    if (seen.has(ref.uid)) continue;
    seen.add(ref.uid);
    const found = await scaleOf(pod, ref, cache, client);
    if (!found) throw new ScaleError(`found no controllers for pod "${pod.metadata.name ?? ""}"`);
    scales.set(found.uid, found.replicas);
  }
  return { expected: [...scales.values()].reduce((a, b) => a + b, 0), unmanaged };
}
