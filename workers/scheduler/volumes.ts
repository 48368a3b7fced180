/**
 * kube-scheduler's VolumeBinding plugin, reduced to local volumes: a pod's
 * claims must exist; a claim bound to a volume with nodeAffinity pins the pod
 * to the nodes it matches; an unbound claim of a WaitForFirstConsumer class
 * lets the pod go anywhere, and the chosen node is written onto the claim
 * (selected-node) before the binding so the provisioner makes the volume there.
 */
import type { Node, NodeSelectorTerm, Pod } from "../reconcile/k8s.ts";
import { matchTerm } from "../reconcile/placement/filters.ts";
import {
  claimNames,
  type PersistentVolume,
  type PersistentVolumeClaim,
  SELECTED_NODE,
  type StorageClass,
} from "../reconcile/volumes.ts";

/** What a pod's claims ask of its node. */
export interface VolumeNeeds {
  /** One list of terms per bound volume with nodeAffinity: the node must match a term of each. */
  affinity: NodeSelectorTerm[][];
  /** Unbound WaitForFirstConsumer claims, to be given the chosen node. */
  delayed: PersistentVolumeClaim[];
}

/** The pod's volume needs, or why it cannot be scheduled at all (kube's PreFilter messages). */
export type VolumeCheck = (pod: Pod) => VolumeNeeds | string;

/** Build the check over the cluster's claims, volumes and classes. */
export function volumeCheck(
  claims: PersistentVolumeClaim[],
  volumes: PersistentVolume[],
  classes: StorageClass[],
): VolumeCheck {
  const claimOf = new Map(claims.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
  const volumeOf = new Map(volumes.map((v) => [v.metadata.name ?? "", v]));
  const classOf = new Map(classes.map((c) => [c.metadata.name ?? "", c]));
  return (pod) => {
    const needs: VolumeNeeds = { affinity: [], delayed: [] };
    for (const name of claimNames(pod)) {
      const claim = claimOf.get(`${pod.metadata.namespace}/${name}`);
      if (!claim) return `persistentvolumeclaim "${name}" not found`;
      if (claim.metadata.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
      const bound = claim.spec.volumeName ? volumeOf.get(claim.spec.volumeName) : undefined;
      if (bound) {
        const terms = bound.spec.nodeAffinity?.required?.nodeSelectorTerms;
        if (terms?.length) needs.affinity.push(terms);
        continue;
      }
      const sc = classOf.get(claim.spec.storageClassName ?? "");
      if (sc?.volumeBindingMode !== "WaitForFirstConsumer" || claim.spec.volumeName)
        return "pod has unbound immediate PersistentVolumeClaims";
      needs.delayed.push(claim);
    }
    return needs;
  };
}

/** The filter: kube's "node(s) had volume node affinity conflict". */
export function volumeConflict(needs: VolumeNeeds | undefined, node: Node): string[] | undefined {
  if (!needs) return undefined;
  const labels = node.metadata.labels ?? {};
  const name = node.metadata.name ?? "";
  const fits = needs.affinity.every((terms) => terms.some((t) => matchTerm(t, labels, name)));
  return fits ? undefined : ["node(s) had volume node affinity conflict"];
}

/** The merge patch that records the chosen node on a delayed claim. */
export function selectNodePatch(node: string): unknown {
  return { metadata: { annotations: { [SELECTED_NODE]: node } } };
}
