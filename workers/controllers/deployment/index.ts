/**
 * Deployment controller: owns ReplicaSets (one per pod template revision),
 * rolls between them (RollingUpdate or Recreate), keeps revision history,
 * and publishes the status and conditions `kubectl rollout status` reads.
 * `kubectl rollout undo` needs nothing special: kubectl copies an old
 * ReplicaSet's template into the Deployment, which then matches that
 * ReplicaSet again and it becomes the newest revision.
 */
import type { OwnerReference } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import {
  clone,
  controllerRef,
  findCondition,
  keyOf,
  matchesSelector,
  type Pod,
  splitKey,
} from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { ownerKeys } from "../keys.ts";
import { ownerRefTo } from "../pods.ts";
import type { ReplicaSet } from "../replicaset/index.ts";
import {
  cleanupHistory,
  oldPodsRunning,
  rolloutRolling,
  scaleDownOld,
  scaleProportionally,
  scaleReplicaSet,
} from "./rollout.ts";
import { condition, isComplete, progressDeadline, rolloutStatus, setDeploymentCondition } from "./status.ts";
import {
  DESIRED_REPLICAS,
  type Deployment,
  type DeploymentStatus,
  equalIgnoreHash,
  HASH_LABEL,
  REVISION,
  replicas,
  revisionOf,
  specReplicas,
  surgeAndUnavailable,
  templateHash,
} from "./util.ts";

export type { Deployment } from "./util.ts";

const withKind = (d: Deployment): Deployment => ({ apiVersion: "apps/v1", kind: "Deployment", ...d });

/** The ReplicaSets this Deployment controls, adopting matching orphans and releasing non-matching ones. */
async function claimReplicaSets(deps: Deps, d: Deployment): Promise<ReplicaSet[]> {
  const all = await deps.cache.list<ReplicaSet>(R.replicasets);
  const out: ReplicaSet[] = [];
  for (const rs of all) {
    if (rs.metadata.namespace !== d.metadata.namespace) continue;
    const ref = controllerRef(rs);
    const matches = matchesSelector(d.spec.selector, rs.metadata.labels);
    if (ref?.uid === d.metadata.uid) {
      if (matches) out.push(clone(rs));
      else
        await patchOwners(
          deps,
          rs,
          (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid),
        );
    } else if (!ref && matches && !d.metadata.deletionTimestamp) {
      out.push(
        await patchOwners(deps, rs, [...(rs.metadata.ownerReferences ?? []), ownerRefTo(withKind(d))]),
      );
    }
  }
  return out;
}

function patchOwners(deps: Deps, rs: ReplicaSet, owners: OwnerReference[]): Promise<ReplicaSet> {
  const patch = { metadata: { uid: rs.metadata.uid, ownerReferences: owners.length ? owners : null } };
  return deps.client.patch<ReplicaSet>(
    R.replicasets,
    rs.metadata.namespace,
    rs.metadata.name ?? "",
    "merge",
    patch,
  );
}

/** Make sure the matching ReplicaSet carries the newest revision; create it when asked and missing. */
async function newReplicaSet(
  deps: Deps,
  d: Deployment,
  owned: ReplicaSet[],
  create: boolean,
  status: DeploymentStatus,
): Promise<ReplicaSet | undefined> {
  const existing = owned.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
  const maxOld = Math.max(0, ...owned.filter((rs) => rs !== existing).map(revisionOf));
  const revision = String(maxOld + 1);
  if (existing) {
    if (revisionOf(existing) < maxOld + 1 || existing.spec.minReadySeconds !== d.spec.minReadySeconds) {
      const next = clone(existing);
      next.metadata.annotations = { ...next.metadata.annotations, [REVISION]: revision };
      next.spec.minReadySeconds = d.spec.minReadySeconds;
      Object.assign(
        existing,
        await deps.client.update<ReplicaSet>(R.replicasets, d.metadata.namespace, next),
      );
    }
    if (!findCondition(status.conditions, "Progressing")) {
      const msg = `Found new replica set "${existing.metadata.name}"`;
      setDeploymentCondition(status, condition("Progressing", "True", "FoundNewReplicaSet", msg, deps.now()));
    }
    return existing;
  }
  if (!create) return undefined;
  const collisions = d.status?.collisionCount ?? 0;
  const hash = templateHash(d.spec.template, collisions);
  const template = clone(d.spec.template);
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
  const { maxSurge } = surgeAndUnavailable(d);
  // Start as large as maxSurge allows (NewRSNewReplicas), so a fresh Deployment needs one write, not two.
  const room = replicas(d) + maxSurge - specReplicas(owned);
  const initial = Math.max(0, Math.min(room, replicas(d)));
  const rs: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...template.metadata.labels },
      annotations: {
        [REVISION]: revision,
        [DESIRED_REPLICAS]: String(replicas(d)),
        "deployment.kubernetes.io/max-replicas": String(replicas(d) + maxSurge),
      },
      ownerReferences: [ownerRefTo(withKind(d))],
    },
    spec: {
      replicas: initial,
      minReadySeconds: d.spec.minReadySeconds,
      selector: {
        ...d.spec.selector,
        matchLabels: { ...d.spec.selector.matchLabels, [HASH_LABEL]: hash },
      },
      template,
    },
  };
  try {
    const created = await deps.client.create<ReplicaSet>(R.replicasets, d.metadata.namespace, rs);
    const msg = `Created new replica set "${created.metadata.name}"`;
    setDeploymentCondition(status, condition("Progressing", "True", "NewReplicaSetCreated", msg, deps.now()));
    owned.push(created);
    if (initial > 0) {
      const scaled = `Scaled up replica set ${created.metadata.name} from 0 to ${initial}`;
      await deps.recorder.event(d, "Normal", "ScalingReplicaSet", scaled);
    }
    return created;
  } catch (error) {
    if (error instanceof ApiError && error.reason === "AlreadyExists") {
      // Same name, different template: a hash collision. Bump collisionCount so the next try hashes differently.
      status.collisionCount = collisions + 1;
      await writeStatus(deps, d, status);
    }
    throw error;
  }
}

async function writeStatus(deps: Deps, d: Deployment, status: DeploymentStatus): Promise<void> {
  if (JSON.stringify(status) === JSON.stringify(d.status ?? {})) return;
  await deps.client.update(R.deployments, d.metadata.namespace, { ...d, status }, { subresource: "status" });
}

/** Keep the Deployment's revision annotation equal to its new ReplicaSet's (what `rollout history` shows). */
async function syncRevision(deps: Deps, d: Deployment, newRS: ReplicaSet | undefined): Promise<Deployment> {
  const revision = newRS?.metadata.annotations?.[REVISION];
  if (!revision || d.metadata.annotations?.[REVISION] === revision) return d;
  const patch = { metadata: { annotations: { [REVISION]: revision } } };
  return deps.client.patch<Deployment>(
    R.deployments,
    d.metadata.namespace,
    d.metadata.name ?? "",
    "merge",
    patch,
  );
}

/** Pause/resume conditions (checkPausedConditions). */
function pausedConditions(d: Deployment, status: DeploymentStatus, now: Date): void {
  const cond = findCondition(status.conditions, "Progressing");
  if (cond?.reason === "ProgressDeadlineExceeded") return;
  const paused = cond?.reason === "DeploymentPaused";
  if (d.spec.paused && !paused) {
    setDeploymentCondition(
      status,
      condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now),
    );
  } else if (!d.spec.paused && paused) {
    setDeploymentCondition(
      status,
      condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now),
    );
  }
}

/** Reconcile one Deployment ("namespace/name"). */
export async function reconcileDeployment(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const cached = await deps.cache.get<Deployment>(R.deployments, namespace, name);
  if (!cached || cached.metadata.deletionTimestamp) return undefined;
  let d = withKind(clone(cached));
  const now = deps.now();
  const owned = await claimReplicaSets(deps, d);
  const status: DeploymentStatus = clone(d.status ?? {});
  pausedConditions(d, status, now);
  const recreate = d.spec.strategy?.type === "Recreate";
  const scalingEvent = owned.some(
    (rs) =>
      (rs.spec.replicas ?? 0) > 0 && rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(replicas(d)),
  );

  let newRS: ReplicaSet | undefined;
  if (d.spec.paused || (scalingEvent && !recreate)) {
    newRS = await newReplicaSet(deps, d, owned, false, status);
    await scaleProportionally(deps, d, owned, newRS);
  } else if (recreate) {
    newRS = await newReplicaSet(deps, d, owned, false, status);
    const old = owned.filter((rs) => rs !== newRS);
    const pods = (await deps.cache.list<Pod>(R.pods)).filter((p) => p.metadata.namespace === namespace);
    const scaled = await scaleDownOld(deps, d, old);
    if (!scaled && !oldPodsRunning(old, pods)) {
      newRS ??= await newReplicaSet(deps, d, owned, true, status);
      if (newRS) await scaleReplicaSet(deps, d, newRS, replicas(d));
    }
  } else {
    newRS = await newReplicaSet(deps, d, owned, true, status);
    const old = owned.filter((rs) => rs !== newRS);
    if (newRS) await rolloutRolling(deps, d, old, newRS);
  }

  d = await syncRevision(deps, d, newRS);
  const old = owned.filter((rs) => rs !== newRS);
  const next = d.spec.paused
    ? { ...rolloutStatusPaused(d, owned, newRS, status, now) }
    : rolloutStatus({ ...d, status }, owned, newRS, now);
  if (!d.spec.paused && isComplete(d, next)) await cleanupHistory(deps, d, old);
  await writeStatus(deps, d, next);
  const due = d.spec.paused ? undefined : progressDeadline(d, next);
  return due === undefined ? undefined : { requeueAfterMs: Math.max(0, due - now.getTime()) + 1000 };
}

/** Status while paused: counts and Available only; Progressing stays "paused". */
function rolloutStatusPaused(
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  status: DeploymentStatus,
  now: Date,
): DeploymentStatus {
  const s = rolloutStatus({ ...d, status }, all, newRS, now);
  const paused = findCondition(status.conditions, "Progressing");
  if (paused) s.conditions = [...(s.conditions ?? []).filter((c) => c.type !== "Progressing"), paused];
  return s;
}

/** The Deployment controller. */
export const deploymentController: Controller = {
  name: "deployment",
  watches: ["apps/deployments", "apps/replicasets"],
  keys: async (deps) => (await deps.cache.list(R.deployments)).map(keyOf),
  keysFor: ownerKeys("apps/deployments", "Deployment", ["apps/replicasets"], true),
  reconcile: reconcileDeployment,
};
