/**
 * PersistentVolume(Claim) and StorageClass shapes and the names both the
 * volume controller and the scheduler use (kube's volume binding contract:
 * the scheduler picks a node for a WaitForFirstConsumer claim, the
 * provisioner makes a volume there, the PV controller binds).
 */
import type { KubeObject, ObjectMeta } from "../client/kube.ts";
import type { NodeSelectorTerm, Pod } from "./k8s.ts";

/** The scheduler's choice for a WaitForFirstConsumer claim (kube's AnnSelectedNode). */
export const SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** Marks the cluster's default StorageClass. */
const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
/** The local-path provisioner's name (k3s's, so manifests written for k3s work unchanged). */
export const LOCAL_PATH_PROVISIONER = "rancher.io/local-path";
/** Where a node keeps local-path volumes (set by its agent; absent: DEFAULT_LOCAL_PATH_DIR). */
export const LOCAL_PATH_DIR = "edgeplane.dev/local-path-dir";
export const DEFAULT_LOCAL_PATH_DIR = "/var/lib/edgeplane/local-path";
/** Volumes (PV names) whose directory the node's agent is asked to remove; it drops each name when done. */
export const LOCAL_PATH_CLEANUP = "edgeplane.dev/local-path-cleanup";
/** Finalizer holding a Delete-policy local-path PV until its directory is gone. */
export const CLEANUP_FINALIZER = "edgeplane.dev/local-path-cleanup";

/** A PersistentVolumeClaim (core/v1), the parts we use. */
export interface PersistentVolumeClaim extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    accessModes?: string[];
    resources?: { requests?: Record<string, string> };
    storageClassName?: string;
    volumeName?: string;
    volumeMode?: string;
    [field: string]: unknown;
  };
  status?: { phase?: string; capacity?: Record<string, string>; accessModes?: string[] };
}

/** A PersistentVolume (core/v1), the parts we use. */
export interface PersistentVolume extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    capacity?: Record<string, string>;
    accessModes?: string[];
    persistentVolumeReclaimPolicy?: "Delete" | "Retain" | "Recycle";
    storageClassName?: string;
    volumeMode?: string;
    claimRef?: { apiVersion?: string; kind?: string; namespace?: string; name?: string; uid?: string };
    hostPath?: { path: string; type?: string };
    local?: { path: string };
    nodeAffinity?: { required?: { nodeSelectorTerms: NodeSelectorTerm[] } };
    [field: string]: unknown;
  };
  status?: { phase?: string; message?: string; reason?: string };
}

/** A StorageClass (storage.k8s.io/v1). */
export interface StorageClass extends KubeObject {
  metadata: ObjectMeta;
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: "Delete" | "Retain";
  volumeBindingMode?: "Immediate" | "WaitForFirstConsumer";
}

/** The claims a pod's volumes name (ephemeral volumes are not supported). */
export function claimNames(pod: Pod): string[] {
  const volumes = (pod.spec.volumes ?? []) as { persistentVolumeClaim?: { claimName?: string } }[];
  return volumes.flatMap((v) =>
    v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
  );
}

/** The default StorageClass, as kube picks it: the newest of those annotated default. */
export function defaultClass(classes: StorageClass[]): StorageClass | undefined {
  return classes
    .filter((c) => c.metadata.annotations?.[DEFAULT_CLASS] === "true")
    .sort((a, b) =>
      (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    )[0];
}
