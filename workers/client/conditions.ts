/**
 * Status conditions (pods, nodes, deployments, jobs, ...): find one by type,
 * and set one with kube's lastTransitionTime rule (the time moves only when
 * the status changes).
 */
import { timestamp } from "./time.ts";

/** What every kube condition type shares (PodCondition, NodeCondition, DeploymentCondition, metav1.Condition). */
export interface ConditionLike {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

/** The condition of `type`, if any. */
export function findCondition<C extends ConditionLike>(
  conditions: C[] | undefined,
  type: string,
): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * A new list with `next` in place of the condition of its type, keeping the
 * old lastTransitionTime when the status did not change, and stamping `now`
 * when it did (meta.SetStatusCondition).
 */
export function setCondition<C extends ConditionLike>(conditions: C[] | undefined, next: C, now: Date): C[] {
  const old = findCondition(conditions, next.type);
  const merged: C = { ...next };
  merged.lastTransitionTime =
    old && old.status === next.status && old.lastTransitionTime ? old.lastTransitionTime : timestamp(now);
  return [...(conditions ?? []).filter((c) => c.type !== next.type), merged];
}
