/**
 * POST pods/NAME/eviction (kube's pkg/registry/core/pod/storage/eviction.go):
 * a delete that respects PodDisruptionBudgets. A pod that is finished, still
 * Pending or already deleting is deleted at once. Otherwise the one budget
 * selecting it must allow a disruption: its status.disruptionsAllowed is
 * decremented and the pod recorded in status.disruptedPods by a
 * compare-and-set write (retried on conflict against the fresh budget), and
 * only then is the pod marked DisruptionTarget and deleted; a budget with nothing to give answers 429
 * TooManyRequests, which `kubectl drain` retries. An unready pod passes
 * without spending the budget while the application is healthy, and is then
 * deleted only at the resourceVersion that was judged (a pod that became
 * ready meanwhile answers 429 too).
 */
import type { KubeObject } from "../../client/kube.ts";
import { selectorMatches } from "../../client/labels.ts";
import { ApiError, errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { PodDisruptionBudget } from "../../client/types.ts";
import { readJsonObject } from "../decode.ts";
import type {
  CustomSubresource,
  RegistryAccess,
  ResourceInfo,
  SubresourceRequest,
} from "../registry/types.ts";
import { list, obj } from "./util.ts";

type Pdb = PodDisruptionBudget & KubeObject;

/** kube's message for a budget that allows no disruption now. */
const VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget.";
/** kube's MaxDisruptedPodSize: evictions the disruption controller has not confirmed yet, per budget. */
const MAX_DISRUPTED_PODS = 2000;

function lookup(registry: RegistryAccess, group: string, resource: string): ResourceInfo {
  const info = registry.lookup(group, resource);
  if (!info) throw errors.internal(`${resource} are not registered`);
  return info;
}

/** A 429 naming the budget (policyv1.DisruptionBudgetCause), with kube's retry hint when it has one. */
function tooManyRequests(cause: string, retryAfterSeconds?: number): ApiError {
  return new ApiError("TooManyRequests", VIOLATES_BUDGET, {
    causes: [{ reason: "DisruptionBudget", message: cause }],
    ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
  });
}

function stillProcessing(name: string): ApiError {
  return tooManyRequests(`The disruption budget ${name} is still being processed by the server.`, 10);
}

function forbiddenBudget(name: string, why: string): ApiError {
  return new ApiError("Forbidden", `poddisruptionbudgets.policy "${name}" is forbidden: ${why}`, {
    name,
    group: "policy",
    kind: "poddisruptionbudgets",
  });
}

/** A finished, Pending or deleting pod has no availability left to protect (canIgnorePDB). */
function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = obj(pod.status).phase;
  return (
    phase === "Succeeded" || phase === "Failed" || phase === "Pending" || !!pod.metadata?.deletionTimestamp
  );
}

function isReady(pod: KubeObject): boolean {
  return list(obj(pod.status).conditions).some((c) => c.type === "Ready" && c.status === "True");
}

/** The budget take one disruption from `pdb` for `podName` (checkAndDecrement); throws when it cannot. */
function decrement(pdb: Pdb, podName: string, now: Date): Pdb {
  const name = pdb.metadata?.name ?? "";
  const status = pdb.status ?? {
    currentHealthy: 0,
    desiredHealthy: 0,
    disruptionsAllowed: 0,
    expectedPods: 0,
  };
  if ((status.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) throw stillProcessing(name);
  if (status.disruptionsAllowed < 0) throw forbiddenBudget(name, "pdb disruptions allowed is negative");
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS)
    throw forbiddenBudget(
      name,
      "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
    );
  if (status.disruptionsAllowed === 0)
    throw tooManyRequests(
      `The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
    );
  const allowed = status.disruptionsAllowed - 1;
  let conditions = status.conditions;
  if (allowed === 0) {
    // pdbhelper.UpdateDisruptionAllowedCondition: no more disruptions until the controller recounts.
    const old = conditions?.find((c) => c.type === "DisruptionAllowed");
    conditions = [
      ...(conditions ?? []).filter((c) => c.type !== "DisruptionAllowed"),
      {
        type: "DisruptionAllowed",
        status: "False",
        reason: "InsufficientPods",
        message: "",
        observedGeneration: status.observedGeneration,
        lastTransitionTime: old?.status === "False" ? old.lastTransitionTime : timestamp(now),
      },
    ];
  }
  pdb.status = {
    ...status,
    disruptionsAllowed: allowed,
    disruptedPods: { ...status.disruptedPods, [podName]: timestamp(now) },
    ...(conditions ? { conditions } : {}),
  };
  return pdb;
}

/** The budgets in the pod's namespace whose selector selects it (getPodDisruptionBudgets). */
async function budgetsFor(registry: RegistryAccess, pod: KubeObject): Promise<Pdb[]> {
  const info = registry.lookup("policy", "poddisruptionbudgets");
  if (!info) return [];
  const { items } = await registry.list(info, pod.metadata?.namespace);
  return (items as Pdb[]).filter((pdb) => {
    try {
      return selectorMatches(pdb.spec?.selector, pod.metadata?.labels);
    } catch {
      return false; // kube skips a budget whose selector does not parse.
    }
  });
}

/**
 * Mark the pod DisruptionTarget=True (EvictionByEvictionAPI) through its
 * status, then delete it (addConditionAndDeletePod); a resourceVersion
 * precondition moves to the version that write made.
 */
async function markAndDelete(
  req: SubresourceRequest,
  grace: number | undefined,
  resourceVersion: string | undefined,
): Promise<void> {
  const pods = lookup(req.registry, "", "pods");
  let pinned = resourceVersion;
  if (!req.ctx.dryRun) {
    const marked = await req.registry.update(
      pods,
      req.namespace,
      req.name,
      (pod) => {
        if (resourceVersion && pod.metadata?.resourceVersion !== resourceVersion)
          throw errors.conflict(
            "pods",
            req.name,
            "the object has been modified; please apply your changes to the latest version and try again",
          );
        const status = obj(pod.status);
        const old = list(status.conditions).find((c) => c.type === "DisruptionTarget");
        const condition = {
          type: "DisruptionTarget",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: old?.status === "True" ? old.lastTransitionTime : timestamp(req.ctx.now),
          reason: "EvictionByEvictionAPI",
          message: "Eviction API: evicting",
        };
        const others = list(status.conditions).filter((c) => c.type !== "DisruptionTarget");
        pod.status = { ...status, conditions: [...others, condition] };
        return pod;
      },
      { ...req.ctx, subresource: "status" },
      { manager: "", target: "status" },
    );
    if (resourceVersion) pinned = marked.metadata?.resourceVersion;
  }
  await req.registry.delete(pods, req.namespace, req.name, req.ctx, {
    gracePeriodSeconds: grace,
    preconditions: pinned ? { resourceVersion: pinned } : undefined,
  });
}

async function evict(req: SubresourceRequest, grace: number | undefined): Promise<void> {
  const pods = lookup(req.registry, "", "pods");
  const pod = await req.registry.get(pods, req.namespace, req.name);
  const resourceVersion = pod.metadata?.resourceVersion;
  const phase = obj(pod.status).phase;
  if (canIgnoreBudget(pod)) {
    // A running or pending pod is deleted at the version judged, not racing another budget-affecting write.
    await markAndDelete(
      req,
      grace,
      phase !== "Succeeded" && phase !== "Failed" ? resourceVersion : undefined,
    );
    return;
  }
  const budgets = await budgetsFor(req.registry, pod);
  // kube answers 500 here; a pod with overlapping budgets is a configuration the caller must fix, hence 403.
  if (budgets.length > 1)
    throw new ApiError(
      "Forbidden",
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  let pinned = false;
  if (budgets.length === 1) {
    const pdb = budgets[0];
    const status = pdb.status;
    const unhealthyAllowed =
      !isReady(pod) &&
      (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow" ||
        ((status?.currentHealthy ?? 0) >= (status?.desiredHealthy ?? 0) &&
          (status?.desiredHealthy ?? 0) > 0));
    if (unhealthyAllowed) pinned = true;
    else
      await req.registry.update(
        lookup(req.registry, "policy", "poddisruptionbudgets"),
        pdb.metadata?.namespace,
        pdb.metadata?.name ?? "",
        (current) => decrement(current as Pdb, req.name, req.ctx.now),
        { ...req.ctx, subresource: "status" },
        { manager: "", target: "status" },
      );
  }
  try {
    await markAndDelete(req, grace, pinned ? resourceVersion : undefined);
  } catch (error) {
    // The unready pod changed since it was judged (it may be ready now): the client should look again.
    if (pinned && error instanceof ApiError && error.code === 409)
      throw stillProcessing(budgets[0].metadata?.name ?? "");
    throw error;
  }
}

/** The eviction subresource of pods. */
export const eviction: CustomSubresource = {
  verbs: ["create"],
  kind: "Eviction",
  group: "policy",
  version: "v1",
  async handle(req) {
    const body = await readJsonObject(req.request);
    const named = obj(body.metadata).name;
    if (typeof named === "string" && named !== "" && named !== req.name)
      throw new ApiError("BadRequest", "name in URL does not match name in Eviction object");
    const grace = obj(body.deleteOptions).gracePeriodSeconds;
    await evict(req, typeof grace === "number" ? grace : undefined);
    return new Response(
      JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 }),
      { status: 201, headers: { "Content-Type": "application/json" } },
    );
  },
};
