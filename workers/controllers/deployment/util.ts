/**
 * Deployment helpers after k8s.io/kubernetes/pkg/controller/deployment/util:
 * surge/unavailable arithmetic, revisions, template hashing and equality.
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import {
  type Condition,
  canonicalJson,
  type LabelSelector,
  type PodTemplate,
  safeHash,
} from "../../reconcile/k8s.ts";
import type { ReplicaSet } from "../replicaset/index.ts";

/** A Deployment (apps/v1). */
export interface Deployment extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplate;
    strategy?: {
      type?: "RollingUpdate" | "Recreate";
      rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
    };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
  };
  status?: DeploymentStatus;
}

/** Deployment status as `kubectl rollout status` reads it. */
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: Condition[];
}

export const REVISION = "deployment.kubernetes.io/revision";
export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
export const HASH_LABEL = "pod-template-hash";

/** spec.replicas with its default. */
export function replicas(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

function resolve(
  value: number | string | undefined,
  total: number,
  fallback: string,
  roundUp: boolean,
): number {
  const v = value ?? fallback;
  if (typeof v === "number") return v;
  if (v.endsWith("%")) {
    const exact = (Number.parseInt(v, 10) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return Number.parseInt(v, 10) || 0;
}

/** maxSurge and maxUnavailable as numbers (percentages: surge rounds up, unavailable down; never both 0). */
export function surgeAndUnavailable(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  if (d.spec.strategy?.type === "Recreate") return { maxSurge: 0, maxUnavailable: 0 };
  const ru = d.spec.strategy?.rollingUpdate;
  const total = replicas(d);
  const maxSurge = resolve(ru?.maxSurge, total, "25%", true);
  let maxUnavailable = resolve(ru?.maxUnavailable, total, "25%", false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, total) };
}

/** The revision annotation of an object (0 when absent). */
export function revisionOf(object: KubeObject): number {
  return Number.parseInt(object.metadata?.annotations?.[REVISION] ?? "0", 10) || 0;
}

function withoutHash(template: PodTemplate): PodTemplate {
  const labels = { ...template.metadata?.labels };
  delete labels[HASH_LABEL];
  return { ...template, metadata: { ...template.metadata, labels } };
}

/** Are two pod templates equal, ignoring pod-template-hash (deploymentutil.EqualIgnoreHash)? */
export function equalIgnoreHash(a: PodTemplate, b: PodTemplate): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}

/** The pod-template-hash of a template (+ collision count), as a label-safe string. */
export function templateHash(template: PodTemplate, collisionCount = 0): string {
  return safeHash(canonicalJson(withoutHash(template)) + (collisionCount ? String(collisionCount) : ""));
}

/** Sum of spec.replicas over ReplicaSets. */
export function specReplicas(list: ReplicaSet[]): number {
  return list.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
}

/** Sum of a status field over ReplicaSets. */
export function statusSum(
  list: ReplicaSet[],
  field: "replicas" | "readyReplicas" | "availableReplicas",
): number {
  return list.reduce((n, rs) => n + (rs.status?.[field] ?? 0), 0);
}

/** Oldest first (ReplicaSetsByCreationTimestamp; name breaks ties). */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1;
}
