/**
 * Deployment status and conditions, after the deployment controller's
 * calculateStatus / syncRolloutStatus: what `kubectl rollout status` waits on.
 */
import { type Condition, findCondition, timestamp } from "../../reconcile/k8s.ts";
import type { ReplicaSet } from "../replicaset/index.ts";
import { type Deployment, type DeploymentStatus, replicas, statusSum, surgeAndUnavailable } from "./util.ts";

/** Set a deployment condition unless one with the same status and reason is there (SetDeploymentCondition). */
export function setDeploymentCondition(status: DeploymentStatus, next: Condition): void {
  const current = findCondition(status.conditions, next.type);
  if (current && current.status === next.status && current.reason === next.reason) return;
  if (current && current.status === next.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== next.type), next];
}

/** A fresh condition stamped now. */
export function condition(
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  now: Date,
): Condition {
  const at = timestamp(now);
  return { type, status, lastUpdateTime: at, lastTransitionTime: at, reason, message };
}

/** Counts and the Available condition (calculateStatus). */
function calculateStatus(
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  now: Date,
): DeploymentStatus {
  const available = statusSum(all, "availableReplicas");
  const total = all.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: statusSum(all, "replicas"),
    updatedReplicas: newRS ? (newRS.status?.replicas ?? 0) : 0,
    readyReplicas: statusSum(all, "readyReplicas"),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    conditions: [...(d.status?.conditions ?? [])],
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  const { maxUnavailable } = surgeAndUnavailable(d);
  if (available >= replicas(d) - maxUnavailable) {
    setDeploymentCondition(
      status,
      condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now),
    );
  } else {
    setDeploymentCondition(
      status,
      condition(
        "Available",
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
        now,
      ),
    );
  }
  return status;
}

/** Every replica updated and available, and the status is current (DeploymentComplete). */
export function isComplete(d: Deployment, s: DeploymentStatus): boolean {
  const want = replicas(d);
  return (
    s.updatedReplicas === want &&
    s.replicas === want &&
    s.availableReplicas === want &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1)
  );
}

function isProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** The Progressing condition's deadline in ms since epoch, or undefined when not counting down. */
export function progressDeadline(d: Deployment, s: DeploymentStatus): number | undefined {
  const deadline = d.spec.progressDeadlineSeconds ?? 600;
  const cond = findCondition(s.conditions, "Progressing");
  if (!cond || cond.reason === "NewReplicaSetAvailable" || cond.reason === "ProgressDeadlineExceeded")
    return undefined;
  if (cond.status !== "True") return undefined;
  const since = Date.parse(cond.lastUpdateTime ?? cond.lastTransitionTime ?? "");
  return Number.isFinite(since) ? since + deadline * 1000 : undefined;
}

/** Add the Progressing condition for a rollout that is running (syncRolloutStatus). */
export function rolloutStatus(
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  now: Date,
): DeploymentStatus {
  const s = calculateStatus(d, all, newRS, now);
  const current = findCondition(s.conditions, "Progressing");
  if (current?.reason === "ProgressDeadlineExceeded") return s;
  const rsName = newRS?.metadata.name;
  if (isComplete(d, s)) {
    const msg = rsName
      ? `ReplicaSet "${rsName}" has successfully progressed.`
      : `Deployment "${d.metadata.name}" has successfully progressed.`;
    setDeploymentCondition(s, condition("Progressing", "True", "NewReplicaSetAvailable", msg, now));
  } else if (isProgressing(d, s)) {
    const msg = rsName
      ? `ReplicaSet "${rsName}" is progressing.`
      : `Deployment "${d.metadata.name}" is progressing.`;
    const next = condition("Progressing", "True", "ReplicaSetUpdated", msg, now);
    if (current?.status === "True" && current.lastTransitionTime)
      next.lastTransitionTime = current.lastTransitionTime;
    s.conditions = [...(s.conditions ?? []).filter((c) => c.type !== "Progressing"), next];
  } else {
    const due = progressDeadline(d, s);
    if (due !== undefined && due < now.getTime()) {
      const msg = rsName
        ? `ReplicaSet "${rsName}" has timed out progressing.`
        : `Deployment "${d.metadata.name}" has timed out progressing.`;
      setDeploymentCondition(s, condition("Progressing", "False", "ProgressDeadlineExceeded", msg, now));
    }
  }
  return s;
}
