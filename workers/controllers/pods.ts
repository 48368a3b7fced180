/**
 * Helpers every workload controller shares: build a pod from a template for
 * an owner, claim pods (adopt matching orphans, release non-matching ones),
 * and create/delete pods in bounded parallel batches with Events.
 */
import type { KubeObject, OwnerReference } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import {
  clone,
  controllerRef,
  isReady,
  type LabelSelector,
  matchesSelector,
  type Pod,
  type PodTemplate,
  randomSuffix,
} from "../reconcile/k8s.ts";
import { forEachLimit } from "../reconcile/pool.ts";
import type { Deps } from "../reconcile/types.ts";

/** The controller ownerReference pointing at `owner`. */
export function ownerRefTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? "",
    kind: owner.kind ?? "",
    name: owner.metadata?.name ?? "",
    uid: owner.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A new pod for `owner` from its template (labels, annotations and spec copied). */
export function podFromTemplate(template: PodTemplate, owner: KubeObject, name?: string): Pod {
  const ownerName = owner.metadata?.name ?? "pod";
  const generateName = `${ownerName}-`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: name ?? generateName + randomSuffix(),
      generateName: name ? undefined : generateName,
      namespace: owner.metadata?.namespace,
      labels: { ...template.metadata?.labels },
      annotations: template.metadata?.annotations ? { ...template.metadata.annotations } : undefined,
      ownerReferences: [ownerRefTo(owner)],
    },
    spec: clone(template.spec),
  };
}

/**
 * The pods `owner` controls after claiming (controller.PodControllerRefManager):
 * its own pods still matching the selector, plus matching orphans it adopts.
 * Its pods that stopped matching are released. A deleting owner adopts nothing.
 */
export async function claimPods(
  owner: KubeObject,
  selector: LabelSelector,
  pods: Pod[],
  deps: Deps,
): Promise<Pod[]> {
  const uid = owner.metadata?.uid;
  const deleting = Boolean(owner.metadata?.deletionTimestamp);
  const claimed: Pod[] = [];
  for (const pod of pods) {
    if (pod.metadata.namespace !== owner.metadata?.namespace) continue;
    const ref = controllerRef(pod);
    const matches = matchesSelector(selector, pod.metadata.labels);
    if (ref?.uid === uid) {
      if (matches || deleting) claimed.push(pod);
      else {
        const rest = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        await patchOwners(deps, pod, rest);
      }
    } else if (!ref && matches && !deleting && !pod.metadata.deletionTimestamp) {
      const owners = [...(pod.metadata.ownerReferences ?? []), ownerRefTo(owner)];
      claimed.push(await patchOwners(deps, pod, owners));
    }
  }
  return claimed;
}

async function patchOwners(deps: Deps, pod: Pod, owners: OwnerReference[]): Promise<Pod> {
  // The uid in the patch makes the write fail if the pod was replaced under the same name.
  const patch = { metadata: { uid: pod.metadata.uid, ownerReferences: owners.length ? owners : null } };
  return deps.client.patch<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name ?? "", "merge", patch);
}

/** Create `count` pods from a template for `owner`, in parallel batches, recording SuccessfulCreate/FailedCreate. */
export async function createPods(
  deps: Deps,
  owner: KubeObject,
  template: PodTemplate,
  count: number,
): Promise<void> {
  const slots = Array.from({ length: count }, (_, i) => i);
  const uid = owner.metadata?.uid;
  deps.expectations.expectCreations(uid, count);
  const errors = await forEachLimit(slots, deps.config.writeConcurrency, async () => {
    const pod = podFromTemplate(template, owner);
    try {
      const created = await createExpected(deps, uid, pod);
      await deps.recorder.event(
        owner,
        "Normal",
        "SuccessfulCreate",
        `Created pod: ${created.metadata?.name}`,
      );
    } catch (error) {
      await deps.recorder.event(
        owner,
        "Warning",
        "FailedCreate",
        `Error creating: ${(error as Error).message}`,
      );
      throw error;
    }
  });
  if (errors.length) throw errors[0];
}

/**
 * Create one pod whose creation the caller already expected for `owner`: a failed request will never
 * show up in the informer, so it lowers the expectation itself (kube's CreationObserved on error).
 */
export async function createExpected(deps: Deps, owner: string | undefined, pod: Pod): Promise<Pod> {
  try {
    return await deps.client.create<Pod>(R.pods, pod.metadata.namespace, pod);
  } catch (error) {
    deps.expectations.creationObserved(owner);
    throw error;
  }
}

/**
 * Delete pods in parallel batches, recording SuccessfulDelete; already-gone pods count as deleted.
 * The deletions are expected for the owner first; a failed or 404 request lowers that at once.
 */
export async function deletePods(deps: Deps, owner: KubeObject, pods: Pod[]): Promise<void> {
  const uid = owner.metadata?.uid;
  deps.expectations.expectDeletions(uid, pods.length);
  const errors = await forEachLimit(pods, deps.config.writeConcurrency, async (pod) => {
    try {
      await deps.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name ?? "", {
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (error) {
      deps.expectations.deletionObserved(uid);
      if ((error as { code?: number }).code === 404) return;
      throw error;
    }
    await deps.recorder.event(owner, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
  });
  if (errors.length) throw errors[0];
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Which pods to delete first when scaling down (controller.ActivePods ordering):
 * unscheduled before scheduled, pending before running, not ready before ready,
 * newer before older.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const sa = a.spec.nodeName ? 1 : 0;
  const sb = b.spec.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  const pa = PHASE_RANK[a.status?.phase ?? "Pending"] ?? 0;
  const pb = PHASE_RANK[b.status?.phase ?? "Pending"] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isReady(a) ? 1 : 0;
  const rb = isReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  return ta > tb ? -1 : ta < tb ? 1 : 0;
}
