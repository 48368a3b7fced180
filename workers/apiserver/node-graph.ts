/**
 * The edges of kube's Node authorizer graph that start at a pod: which
 * Secrets, ConfigMaps and PersistentVolumeClaims a pod references. A node may
 * read an object of these kinds only through a pod bound to it (and a
 * PersistentVolume only through such a pod's bound claim).
 */
import type { KubeObject } from "../client/kube.ts";

interface PodContainer {
  env?: {
    valueFrom?: { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } };
  }[];
  envFrom?: { secretRef?: { name?: string }; configMapRef?: { name?: string } }[];
}

interface PodSpecRefs {
  nodeName?: string;
  volumes?: {
    name?: string;
    secret?: { secretName?: string };
    configMap?: { name?: string };
    persistentVolumeClaim?: { claimName?: string };
    ephemeral?: unknown;
    projected?: { sources?: { secret?: { name?: string }; configMap?: { name?: string } }[] };
  }[];
  imagePullSecrets?: { name?: string }[];
  containers?: PodContainer[];
  initContainers?: PodContainer[];
  ephemeralContainers?: PodContainer[];
}

/** What a pod references, by kind (the plural resource name), in the pod's own namespace. */
export interface PodReferences {
  secrets: Set<string>;
  configmaps: Set<string>;
  persistentvolumeclaims: Set<string>;
}

/** The node a pod is bound to, if any. */
export function nodeOf(pod: KubeObject): string | undefined {
  return (pod.spec as PodSpecRefs | undefined)?.nodeName;
}

/** Every Secret, ConfigMap and PVC name a pod uses: volumes (incl. projected and ephemeral), env, envFrom, image pull secrets. */
export function podReferences(pod: KubeObject): PodReferences {
  const spec = (pod.spec ?? {}) as PodSpecRefs;
  const refs: PodReferences = {
    secrets: new Set(),
    configmaps: new Set(),
    persistentvolumeclaims: new Set(),
  };
  const add = (set: Set<string>, name: string | undefined) => {
    if (typeof name === "string" && name) set.add(name);
  };
  for (const v of spec.volumes ?? []) {
    add(refs.secrets, v.secret?.secretName);
    add(refs.configmaps, v.configMap?.name);
    add(refs.persistentvolumeclaims, v.persistentVolumeClaim?.claimName);
    // A generic ephemeral volume's claim is named <pod>-<volume>.
    if (v.ephemeral && v.name) add(refs.persistentvolumeclaims, `${pod.metadata?.name}-${v.name}`);
    for (const source of v.projected?.sources ?? []) {
      add(refs.secrets, source.secret?.name);
      add(refs.configmaps, source.configMap?.name);
    }
  }
  for (const ref of spec.imagePullSecrets ?? []) add(refs.secrets, ref.name);
  for (const c of [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ]) {
    for (const e of c.env ?? []) {
      add(refs.secrets, e.valueFrom?.secretKeyRef?.name);
      add(refs.configmaps, e.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add(refs.secrets, e.secretRef?.name);
      add(refs.configmaps, e.configMapRef?.name);
    }
  }
  return refs;
}
