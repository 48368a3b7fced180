/**
 * Disruption controller (kube's pkg/controller/disruption): keep each
 * PodDisruptionBudget's status: the pods it selects, how many are healthy
 * (Ready, not being deleted, not just evicted), how many must stay healthy
 * (minAvailable, or the owners' scale minus maxUnavailable: scale.ts), how many
 * disruptions that allows, the DisruptionAllowed condition, and the
 * disruptedPods the eviction subresource records (dropped once the pod is
 * deleting, or after kube's two-minute DeletionTimeout). A budget it cannot
 * compute (a percentage over pods without a scalable owner) fails safe:
 * no disruptions allowed, condition SyncFailed.
 */
import type { KubeObject } from "../../client/kube.ts";
import { selectorMatches } from "../../client/labels.ts";
import { R } from "../../client/resources.ts";
import type { PodDisruptionBudget } from "../../client/types.ts";
import { isReady, keyOf, type Pod, splitKey, timestamp } from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { ALL_KEYS } from "../../reconcile/types.ts";
import { expectedScale, ScaleError } from "./scale.ts";

type Pdb = PodDisruptionBudget & KubeObject;
type PdbStatus = NonNullable<PodDisruptionBudget["status"]>;
type Condition = NonNullable<PdbStatus["conditions"]>[number];

/** How long an evicted pod may take to start deleting before it counts again (kube's DeletionTimeout). */
const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** policy/v1 reasons of the DisruptionAllowed condition. */
const SUFFICIENT = "SufficientPods";
const INSUFFICIENT = "InsufficientPods";
const SYNC_FAILED = "SyncFailed";

/** An intstr scaled against `total`, percentages rounded up (intstr.GetScaledValueFromIntOrPercent). */
function scaled(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  return Math.ceil((Number(value.slice(0, -1)) * total) / 100);
}

/** The expected pod count and how many must be healthy (getExpectedPodCount). */
async function expectedCounts(
  pdb: Pdb,
  pods: Pod[],
  deps: Deps,
): Promise<{ expected: number; desired: number; unmanaged: string[] }> {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined) {
    const { expected, unmanaged } = await expectedScale(pods, deps.cache, deps.client);
    const desired = Math.max(0, expected - scaled(spec.maxUnavailable, expected));
    return { expected, desired, unmanaged };
  }
  if (typeof spec.minAvailable === "number")
    return { expected: pods.length, desired: spec.minAvailable, unmanaged: [] };
  if (typeof spec.minAvailable === "string") {
    const { expected, unmanaged } = await expectedScale(pods, deps.cache, deps.client);
    return { expected, desired: scaled(spec.minAvailable, expected), unmanaged };
  }
  return { expected: 0, desired: 0, unmanaged: [] };
}

/** disruptedPods still pending (buildDisruptedPodMap), and when the earliest of them times out. */
function pendingDisruptions(
  pods: Pod[],
  recorded: Record<string, string> | undefined,
  now: number,
): { pending: Record<string, string>; recheckAt?: number } {
  const pending: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const pod of pods) {
    const podName = pod.metadata.name ?? "";
    const at = recorded?.[podName];
    if (pod.metadata.deletionTimestamp || at === undefined) continue;
    const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (expires < now) continue;
    pending[podName] = at;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  return { pending, recheckAt };
}

/** The DisruptionAllowed condition for `status` (pdbhelper.UpdateDisruptionAllowedCondition). */
function allowedCondition(status: PdbStatus, now: Date, reason?: string, message = ""): Condition[] {
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  const old = status.conditions?.find((c) => c.type === "DisruptionAllowed");
  const next: Condition = {
    type: "DisruptionAllowed",
    status: allowed ? "True" : "False",
    reason: reason ?? (allowed ? SUFFICIENT : INSUFFICIENT),
    message,
    observedGeneration: status.observedGeneration,
    lastTransitionTime:
      old && old.status === (allowed ? "True" : "False") ? old.lastTransitionTime : timestamp(now),
  };
  return [...(status.conditions ?? []).filter((c) => c.type !== "DisruptionAllowed"), next];
}

/** Write `status` unless it is what the PDB already says. */
async function writeStatus(pdb: Pdb, status: PdbStatus, deps: Deps): Promise<void> {
  if (JSON.stringify(status) === JSON.stringify(pdb.status)) return;
  const body = { ...pdb, apiVersion: "policy/v1", kind: "PodDisruptionBudget", status } as KubeObject;
  await deps.client.update(R.poddisruptionbudgets, pdb.metadata?.namespace, body, { subresource: "status" });
}

/** The PDB's status as kube's updatePdbStatus computes it. */
function computedStatus(
  pdb: Pdb,
  counts: { healthy: number; desired: number; expected: number },
  pending: Record<string, string>,
  now: Date,
): PdbStatus {
  const allowed = counts.expected > 0 ? Math.max(0, counts.healthy - counts.desired) : 0;
  const status: PdbStatus = {
    ...(Object.keys(pending).length > 0 ? { disruptedPods: pending } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: counts.healthy,
    desiredHealthy: counts.desired,
    expectedPods: counts.expected,
    observedGeneration: pdb.metadata?.generation,
    conditions: pdb.status?.conditions,
  };
  status.conditions = allowedCondition(status, now);
  return status;
}

/** Reconcile one PDB ("namespace/name"). */
export async function reconcileDisruption(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const pdb = await deps.cache.get<Pdb>(R.poddisruptionbudgets, namespace, name);
  if (!pdb) return undefined;
  const now = deps.now();
  const pods = (await deps.cache.list<Pod>(R.pods)).filter(
    (p) => p.metadata.namespace === namespace && selectorMatches(pdb.spec?.selector, p.metadata.labels),
  );
  if (pods.length === 0) await deps.recorder.event(pdb, "Normal", "NoPods", "No matching pods found");
  let counts: Awaited<ReturnType<typeof expectedCounts>>;
  try {
    counts = await expectedCounts(pdb, pods, deps);
  } catch (error) {
    if (!(error instanceof ScaleError)) throw error;
    // kube's failSafe: no disruptions until the budget can be computed again.
    await deps.recorder.event(
      pdb,
      "Warning",
      "CalculateExpectedPodCountFailed",
      `Failed to calculate the number of expected pods: ${error.message}`,
    );
    const status: PdbStatus = {
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
      ...pdb.status,
      disruptionsAllowed: 0,
    };
    status.conditions = allowedCondition(status, now, SYNC_FAILED, error.message);
    await writeStatus(pdb, status, deps);
    return undefined;
  }
  if (counts.unmanaged.length > 0)
    await deps.recorder.event(
      pdb,
      "Warning",
      "UnmanagedPods",
      `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
    );
  const { pending, recheckAt } = pendingDisruptions(pods, pdb.status?.disruptedPods, now.getTime());
  const healthy = pods.filter(
    (p) => !p.metadata.deletionTimestamp && pending[p.metadata.name ?? ""] === undefined && isReady(p),
  ).length;
  await writeStatus(pdb, computedStatus(pdb, { ...counts, healthy }, pending, now), deps);
  return recheckAt === undefined ? undefined : { requeueAfterMs: Math.max(0, recheckAt - now.getTime()) };
}

/** The disruption controller. */
export const disruptionController: Controller = {
  name: "disruption",
  watches: [
    "policy/poddisruptionbudgets",
    "/pods",
    "apps/deployments",
    "apps/replicasets",
    "apps/statefulsets",
    "/replicationcontrollers",
  ],
  keys: async (deps) => (await deps.cache.list(R.poddisruptionbudgets)).map(keyOf),
  // A PDB's own changes wake it; anything else (a pod, an owner's scale) may concern any budget.
  keysFor: (event) => (event.resource === "policy/poddisruptionbudgets" ? [keyOf(event.object)] : [ALL_KEYS]),
  reconcile: reconcileDisruption,
};
