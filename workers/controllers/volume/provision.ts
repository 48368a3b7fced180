/**
 * The local-path provisioner (k3s's rancher.io/local-path model): a claim's
 * volume is a directory on the node its first consumer was scheduled to,
 * pinned there by the PV's nodeAffinity. The agent of that node creates the
 * directory when a pod mounts it and removes it when asked (cleanup.ts).
 */
import type { Node } from "../../reconcile/k8s.ts";
import {
  CLEANUP_FINALIZER,
  DEFAULT_LOCAL_PATH_DIR,
  LOCAL_PATH_DIR,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from "../../reconcile/volumes.ts";

/** The PV name kube's provisioners use: "pvc-<claim uid>". */
export function volumeNameFor(claim: PersistentVolumeClaim): string {
  return `pvc-${claim.metadata.uid}`;
}

/** The PV for `claim` of `sc`, a directory under the node's local-path dir. */
export function localPathVolume(
  claim: PersistentVolumeClaim,
  sc: StorageClass,
  node: Node,
): PersistentVolume {
  const name = volumeNameFor(claim);
  const base =
    node.metadata.annotations?.[LOCAL_PATH_DIR] ?? sc.parameters?.nodePath ?? DEFAULT_LOCAL_PATH_DIR;
  const reclaim = sc.reclaimPolicy ?? "Delete";
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      annotations: { "pv.kubernetes.io/provisioned-by": sc.provisioner },
      // Only a Delete volume has a directory to remove before it goes.
      ...(reclaim === "Delete" ? { finalizers: [CLEANUP_FINALIZER] } : {}),
    },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? "0" },
      accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: reclaim,
      storageClassName: sc.metadata.name,
      volumeMode: "Filesystem",
      hostPath: { path: `${base.replace(/\/+$/, "")}/${name}`, type: "DirectoryOrCreate" },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: "kubernetes.io/hostname", operator: "In", values: [node.metadata.name ?? ""] },
              ],
            },
          ],
        },
      },
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
      },
    },
  };
}

/** The default StorageClass this cluster starts with (k3s's local-path). */
export const LOCAL_PATH_CLASS: StorageClass = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "local-path", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
  provisioner: "rancher.io/local-path",
  reclaimPolicy: "Delete",
  volumeBindingMode: "WaitForFirstConsumer",
};
