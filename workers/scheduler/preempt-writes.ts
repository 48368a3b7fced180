/**
 * The writes of a preemption, as kube-scheduler's prepareCandidate makes
 * them: each victim gets a DisruptionTarget condition (reason
 * PreemptionByScheduler, kube 1.26+), a Preempted Event, and a graceful
 * delete; the preemptor is then nominated to the node (index.ts) and bound
 * by a later pass once the victims are gone.
 */
import { R } from "../client/resources.ts";
import { ApiError } from "../client/status.ts";
import { type Condition, type Pod, setCondition } from "../reconcile/k8s.ts";
import type { Deps } from "../reconcile/types.ts";
import type { Preemption } from "./preemption.ts";

/** Evict one victim: condition, Event, graceful delete. A victim already gone is fine. */
async function evict(deps: Deps, preemptor: Pod, victim: Pod, node: string): Promise<void> {
  const { namespace, name, uid } = victim.metadata;
  const scheduler = preemptor.spec.schedulerName ?? "default-scheduler";
  const condition: Condition = {
    type: "DisruptionTarget",
    status: "True",
    reason: "PreemptionByScheduler",
    message: `${scheduler}: preempting to accommodate a higher priority pod`,
  };
  try {
    const conditions = setCondition(victim.status?.conditions, condition, deps.now());
    await deps.client.patch(
      R.pods,
      namespace,
      name ?? "",
      "merge",
      { status: { conditions } },
      {
        subresource: "status",
      },
    );
    await deps.recorder.event(
      victim,
      "Normal",
      "Preempted",
      `Preempted by pod ${preemptor.metadata.uid ?? ""} on node ${node}`,
    );
    // The pod's own terminationGracePeriodSeconds applies, as kube's DeletePod.
    const answer = await deps.client.delete(R.pods, namespace, name ?? "", { preconditions: { uid } });
    deps.cache.wrote(R.pods, answer, true);
  } catch (error) {
    if (error instanceof ApiError && (error.code === 404 || error.code === 409)) return;
    throw error;
  }
}

/** Evict every victim of a preemption (in parallel: they are independent). */
export async function preemptVictims(deps: Deps, preemptor: Pod, preemption: Preemption): Promise<void> {
  await Promise.all(preemption.victims.map((v) => evict(deps, preemptor, v, preemption.node)));
}
