/**
 * Rolling update, Recreate and proportional scaling, after the deployment
 * controller's rolling.go / recreate.go / sync.go. Functions take the working
 * copies of the ReplicaSets and update them in place after each write.
 */
import { R } from "../../client/resources.ts";
import { isTerminal, type Pod } from "../../reconcile/k8s.ts";
import type { Deps } from "../../reconcile/types.ts";
import type { ReplicaSet } from "../replicaset/index.ts";
import {
  byCreation,
  DESIRED_REPLICAS,
  type Deployment,
  MAX_REPLICAS,
  replicas,
  revisionOf,
  specReplicas,
  statusSum,
  surgeAndUnavailable,
} from "./util.ts";

/** Set a ReplicaSet's replicas (and the desired/max annotations), with a ScalingReplicaSet event on the Deployment. */
export async function scaleReplicaSet(
  deps: Deps,
  d: Deployment,
  rs: ReplicaSet,
  to: number,
): Promise<boolean> {
  const from = rs.spec.replicas ?? 0;
  const desired = String(replicas(d));
  const max = String(replicas(d) + surgeAndUnavailable(d).maxSurge);
  const annotations = rs.metadata.annotations ?? {};
  if (from === to && annotations[DESIRED_REPLICAS] === desired && annotations[MAX_REPLICAS] === max)
    return false;
  const next: ReplicaSet = {
    ...rs,
    metadata: {
      ...rs.metadata,
      annotations: { ...annotations, [DESIRED_REPLICAS]: desired, [MAX_REPLICAS]: max },
    },
    spec: { ...rs.spec, replicas: to },
  };
  const saved = await deps.client.update<ReplicaSet>(R.replicasets, rs.metadata.namespace, next);
  Object.assign(rs, saved);
  if (from !== to) {
    const verb = to > from ? "up" : "down";
    await deps.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${to}`,
    );
  }
  return from !== to;
}

/** Scale the new ReplicaSet up within maxSurge (reconcileNewReplicaSet). */
async function reconcileNew(
  deps: Deps,
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet,
): Promise<boolean> {
  const want = replicas(d);
  const have = newRS.spec.replicas ?? 0;
  if (have === want) return false;
  if (have > want) return scaleReplicaSet(deps, d, newRS, want);
  const maxTotal = want + surgeAndUnavailable(d).maxSurge;
  const current = specReplicas(all);
  if (current >= maxTotal) return false;
  const up = Math.min(maxTotal - current, want - have);
  return scaleReplicaSet(deps, d, newRS, have + up);
}

/** Scale old ReplicaSets down without going below minAvailable (reconcileOldReplicaSets). */
async function reconcileOld(
  deps: Deps,
  d: Deployment,
  all: ReplicaSet[],
  old: ReplicaSet[],
  newRS: ReplicaSet,
): Promise<boolean> {
  if (specReplicas(old) === 0) return false;
  const { maxUnavailable } = surgeAndUnavailable(d);
  const minAvailable = replicas(d) - maxUnavailable;
  const newUnavailable = (newRS.spec.replicas ?? 0) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = specReplicas(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const sorted = [...old].sort(byCreation);
  // First drop old replicas that are not available anyway (cleanupUnhealthyReplicas).
  let cleaned = 0;
  for (const rs of sorted) {
    if (cleaned >= maxScaledDown) break;
    const have = rs.spec.replicas ?? 0;
    const unhealthy = have - (rs.status?.availableReplicas ?? 0);
    if (have === 0 || unhealthy <= 0) continue;
    const down = Math.min(maxScaledDown - cleaned, unhealthy);
    await scaleReplicaSet(deps, d, rs, have - down);
    cleaned += down;
  }
  // Then scale down available old replicas while total availability stays above minAvailable.
  const available = statusSum([...old, newRS], "availableReplicas");
  let scaled = 0;
  if (available > minAvailable) {
    const budget = available - minAvailable;
    for (const rs of sorted) {
      if (scaled >= budget) break;
      const have = rs.spec.replicas ?? 0;
      if (have === 0) continue;
      const down = Math.min(have, budget - scaled);
      await scaleReplicaSet(deps, d, rs, have - down);
      scaled += down;
    }
  }
  return cleaned + scaled > 0;
}

/** One step of a RollingUpdate; true when it scaled something (status is synced by the caller either way). */
export async function rolloutRolling(
  deps: Deps,
  d: Deployment,
  old: ReplicaSet[],
  newRS: ReplicaSet,
): Promise<boolean> {
  const all = [...old, newRS];
  if (await reconcileNew(deps, d, all, newRS)) return true;
  const active = old.filter((rs) => (rs.spec.replicas ?? 0) > 0);
  return reconcileOld(deps, d, all, active, newRS);
}

/** Are pods of old ReplicaSets still around (Recreate waits for them to be gone)? */
export function oldPodsRunning(old: ReplicaSet[], pods: Pod[]): boolean {
  if (statusSum(old, "replicas") > 0) return true;
  const uids = new Set(old.map((rs) => rs.metadata.uid));
  return pods.some(
    (p) => p.metadata.ownerReferences?.some((r) => r.controller && uids.has(r.uid)) && !isTerminal(p),
  );
}

/** Scale every old ReplicaSet to zero; true when something was scaled. */
export async function scaleDownOld(deps: Deps, d: Deployment, old: ReplicaSet[]): Promise<boolean> {
  let scaled = false;
  for (const rs of old)
    if ((rs.spec.replicas ?? 0) > 0) scaled = (await scaleReplicaSet(deps, d, rs, 0)) || scaled;
  return scaled;
}

/**
 * A replicas change while paused or mid-rollout (sync / scale): the only active
 * ReplicaSet takes it all; otherwise the difference is shared in proportion.
 */
export async function scaleProportionally(
  deps: Deps,
  d: Deployment,
  all: ReplicaSet[],
  newRS?: ReplicaSet,
): Promise<void> {
  const active = all.filter((rs) => (rs.spec.replicas ?? 0) > 0);
  const want = replicas(d);
  if (active.length === 0) {
    const target = newRS ?? [...all].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
    if (target) await scaleReplicaSet(deps, d, target, want);
    return;
  }
  if (active.length === 1) {
    await scaleReplicaSet(deps, d, active[0], want);
    for (const rs of all)
      if (rs !== active[0] && (rs.spec.replicas ?? 0) > 0) await scaleReplicaSet(deps, d, rs, 0);
    return;
  }
  const allowed = want + surgeAndUnavailable(d).maxSurge;
  const current = specReplicas(active);
  let toAdd = allowed - current;
  if (toAdd === 0) return;
  const sorted = [...active].sort(
    (a, b) => (b.spec.replicas ?? 0) - (a.spec.replicas ?? 0) || byCreation(b, a),
  );
  const targets = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of sorted) {
    const share = Math.trunc(((rs.spec.replicas ?? 0) * toAdd) / current);
    const capped = toAdd < 0 ? Math.max(share, -(rs.spec.replicas ?? 0)) : share;
    targets.set(rs, (rs.spec.replicas ?? 0) + capped);
    added += capped;
  }
  toAdd -= added;
  const first = sorted[0];
  targets.set(first, Math.max(0, (targets.get(first) ?? 0) + toAdd));
  for (const [rs, to] of targets) await scaleReplicaSet(deps, d, rs, to);
}

/** Delete old, scaled-to-zero ReplicaSets beyond revisionHistoryLimit, oldest revision first. */
export async function cleanupHistory(deps: Deps, d: Deployment, old: ReplicaSet[]): Promise<void> {
  const limit = d.spec.revisionHistoryLimit ?? 10;
  const alive = old.filter((rs) => !rs.metadata.deletionTimestamp);
  const excess = alive.length - limit;
  if (excess <= 0) return;
  const sorted = [...alive].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of sorted.slice(0, excess)) {
    if ((rs.status?.replicas ?? 0) !== 0 || (rs.spec.replicas ?? 0) !== 0) continue;
    if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    try {
      await deps.client.delete(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? "", {
        preconditions: { uid: rs.metadata.uid },
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
    }
  }
}
