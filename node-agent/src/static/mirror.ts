/**
 * Mirror pods (pkg/kubelet/pod/mirror_client.go): the API's read-only copy of
 * a static pod, so `kubectl get pods` shows it. It carries the config.mirror
 * annotation (the static pod's hash) and a controller owner reference to this
 * node's Node; NodeRestriction admits exactly that from a node.
 */
import type { KubeClient } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import type { Pod } from "../pod/k8s.ts";
import { HASH_ANNOTATION, MIRROR_ANNOTATION } from "./manifest.ts";

/** The mirror pod to create for `pod`: a copy with the mirror annotation and the Node as owner. */
export function mirrorOf(pod: Pod, node: { name: string; uid: string }): Pod {
  const { uid: _uid, resourceVersion: _rv, ...metadata } = pod.metadata;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...metadata,
      annotations: { ...metadata.annotations, [MIRROR_ANNOTATION]: hashOf(pod) },
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.name, uid: node.uid, controller: true }],
    },
    spec: pod.spec,
  };
}

/** The static pod's hash (its config.hash annotation, which is also its UID). */
export function hashOf(pod: Pod): string {
  return pod.metadata.annotations?.[HASH_ANNOTATION] ?? pod.metadata.uid ?? "";
}

/** Whether `mirror` is a live mirror of exactly this version of `pod` (kubetypes IsMirrorPodOf, not being deleted). */
export function mirrors(mirror: Pod, pod: Pod): boolean {
  return (
    !mirror.metadata.deletionTimestamp && mirror.metadata.annotations?.[MIRROR_ANNOTATION] === hashOf(pod)
  );
}

/** Create the mirror pod; an existing pod of that name is returned as it is (the caller compares hashes). */
export async function createMirror(client: KubeClient, mirror: Pod): Promise<Pod> {
  try {
    return await client.create<Pod>(R.pods, mirror.metadata.namespace, mirror);
  } catch (error) {
    if (error instanceof ApiError && error.code === 409)
      return await client.get<Pod>(R.pods, mirror.metadata.namespace, mirror.metadata.name ?? "");
    throw error;
  }
}

/** Delete a mirror pod at once, only if it is still the one seen (uid precondition); gone already is fine. */
export async function deleteMirror(client: KubeClient, mirror: Pod): Promise<void> {
  try {
    await client.delete(R.pods, mirror.metadata.namespace, mirror.metadata.name ?? "", {
      gracePeriodSeconds: 0,
      preconditions: { uid: mirror.metadata.uid },
    });
  } catch (error) {
    if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
  }
}
