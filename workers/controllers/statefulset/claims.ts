/**
 * StatefulSet volumeClaimTemplates, as kube's stateful_set_utils does them:
 * pod <set>-<i> mounts claim <template>-<set>-<i>, created before the pod.
 * Claims outlive the set by default (persistentVolumeClaimRetentionPolicy
 * Retain); whenDeleted: Delete makes the set their owner so the garbage
 * collector removes them with it.
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import type { Deps } from "../../reconcile/types.ts";
import type { PersistentVolumeClaim } from "../../reconcile/volumes.ts";
import { ownerRefTo } from "../pods.ts";

/** The parts of a StatefulSet spec that concern claims. */
export interface ClaimSpec {
  volumeClaimTemplates?: { metadata?: ObjectMeta; spec?: PersistentVolumeClaim["spec"] }[];
  persistentVolumeClaimRetentionPolicy?: {
    whenDeleted?: "Retain" | "Delete";
    whenScaled?: "Retain" | "Delete";
  };
  selector: { matchLabels?: Record<string, string> };
}

/** The claim name kube gives template `template` of pod `<set>-<ordinal>`. */
function claimName(template: string, set: string, ordinal: number): string {
  return `${template}-${set}-${ordinal}`;
}

/** Point the pod's volumes named after templates at its own claims (kube's updateStorage). */
export function mountClaims(pod: Pod, spec: ClaimSpec, set: string, ordinal: number): void {
  const templates = spec.volumeClaimTemplates ?? [];
  if (!templates.length) return;
  const names = new Set(templates.map((t) => t.metadata?.name));
  const volumes = ((pod.spec.volumes ?? []) as { name: string }[]).filter((v) => !names.has(v.name));
  for (const t of templates) {
    const name = t.metadata?.name ?? "";
    volumes.push({ name, persistentVolumeClaim: { claimName: claimName(name, set, ordinal) } } as {
      name: string;
    });
  }
  pod.spec.volumes = volumes;
}

/** Create the claims of pod `<set>-<ordinal>` that do not exist yet (kube's createPersistentVolumeClaims). */
export async function createClaims(
  deps: Deps,
  sts: KubeObject & { spec: ClaimSpec },
  ordinal: number,
): Promise<void> {
  const set = sts.metadata?.name ?? "";
  const namespace = sts.metadata?.namespace;
  const ownedBySet = sts.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete";
  for (const t of sts.spec.volumeClaimTemplates ?? []) {
    const name = claimName(t.metadata?.name ?? "", set, ordinal);
    if (await deps.cache.get(R.persistentvolumeclaims, namespace, name)) continue;
    const claim: PersistentVolumeClaim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name,
        namespace,
        labels: { ...t.metadata?.labels, ...sts.spec.selector.matchLabels },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ...(ownedBySet ? { ownerReferences: [ownerRefTo(sts)] } : {}),
      },
      spec: structuredClone(t.spec ?? {}),
    };
    try {
      await deps.client.create(R.persistentvolumeclaims, namespace, claim);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409)) throw error;
    }
    await deps.recorder.event(
      sts,
      "Normal",
      "SuccessfulCreate",
      `create Claim ${name} Pod ${set}-${ordinal} in StatefulSet ${set} success`,
    );
  }
}
