/**
 * Job controller: runs pods until `completions` succeed (at most
 * `parallelism` at a time), fails the Job after `backoffLimit` failed pods or
 * `activeDeadlineSeconds`, records conditions Complete/Failed and the status
 * counters, and deletes finished Jobs after `ttlSecondsAfterFinished`.
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import {
  type Condition,
  clone,
  controllerRef,
  isActive,
  isReady,
  keyOf,
  type LabelSelector,
  type Pod,
  type PodTemplate,
  splitKey,
  timestamp,
} from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { ownerKeys } from "../keys.ts";
import { createPods, deletePods } from "../pods.ts";

/** A Job (batch/v1). */
export interface Job extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    completions?: number | null;
    parallelism?: number;
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    suspend?: boolean;
    selector?: LabelSelector;
    template: PodTemplate;
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: Condition[];
  };
}

/** Is the Job finished (Complete or Failed is True)? */
export function finished(job: Job): Condition | undefined {
  return job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

function jobCondition(type: "Complete" | "Failed", reason: string, message: string, now: Date): Condition {
  const at = timestamp(now);
  return { type, status: "True", reason, message, lastProbeTime: at, lastTransitionTime: at };
}

/** Reconcile one Job ("namespace/name"). */
export async function reconcileJob(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const cached = await deps.cache.get<Job>(R.jobs, namespace, name);
  if (!cached || cached.metadata.deletionTimestamp) return undefined;
  const job = { apiVersion: "batch/v1", kind: "Job", ...clone(cached) } as Job;
  const now = deps.now();

  const done = finished(job);
  if (done) {
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl === undefined) return undefined;
    const at = Date.parse(job.status?.completionTime ?? done.lastTransitionTime ?? "") + ttl * 1000;
    if (at > now.getTime()) return { requeueAfterMs: at - now.getTime() };
    await deps.client
      .delete(R.jobs, namespace, name, {
        propagationPolicy: "Background",
        preconditions: { uid: job.metadata.uid },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      });
    return undefined;
  }

  const pods = (await deps.cache.list<Pod>(R.pods)).filter(
    (p) => p.metadata.namespace === namespace && controllerRef(p)?.uid === job.metadata.uid,
  );
  const active = pods.filter(isActive);
  const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
  const failed = pods.filter((p) => p.status?.phase === "Failed").length;
  const parallelism = job.spec.parallelism ?? 1;
  // completions unset means a work queue: done when any pod succeeded and none is running.
  const completions = job.spec.completions ?? undefined;
  const status = { ...clone(job.status ?? {}) };
  status.startTime ??= timestamp(now);
  const started = Date.parse(status.startTime);
  let requeue: number | undefined;

  let failure: Condition | undefined;
  if (failed > (job.spec.backoffLimit ?? 6)) {
    failure = jobCondition(
      "Failed",
      "BackoffLimitExceeded",
      "Job has reached the specified backoff limit",
      now,
    );
  } else if (job.spec.activeDeadlineSeconds !== undefined) {
    const deadline = started + job.spec.activeDeadlineSeconds * 1000;
    if (now.getTime() >= deadline) {
      failure = jobCondition(
        "Failed",
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
        now,
      );
    } else requeue = deadline - now.getTime();
  }
  const complete =
    completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;

  // Pod creations or deletions the cache has not shown yet: manage pods only once it has (expectations).
  const manage = deps.expectations.satisfied(job.metadata.uid);
  if (failure || complete) {
    if (active.length && manage) await deletePods(deps, job, active);
    status.conditions = [...(status.conditions ?? []), failure ?? jobCondition("Complete", "", "", now)].map(
      ({ reason, message, ...c }) => (reason ? { reason, message, ...c } : c),
    );
    if (!failure) status.completionTime = timestamp(now);
    status.active = 0;
    if (job.spec.ttlSecondsAfterFinished !== undefined) requeue = job.spec.ttlSecondsAfterFinished * 1000;
  } else if (!job.spec.suspend) {
    const remaining = completions !== undefined ? completions - succeeded : parallelism;
    const want = Math.max(0, Math.min(parallelism, remaining));
    if (!manage) {
      // Wait for the cache to show the pods already created or deleted.
    } else if (active.length < want) await createPods(deps, job, withJobLabels(job), want - active.length);
    else if (active.length > want) await deletePods(deps, job, active.slice(want));
    status.active = active.length;
  } else {
    if (active.length && manage) await deletePods(deps, job, active);
    status.active = active.length;
  }
  status.succeeded = succeeded;
  status.failed = failed;
  status.ready = active.filter(isReady).length;
  if (JSON.stringify(status) !== JSON.stringify(job.status ?? {})) {
    await deps.client.update(R.jobs, namespace, { ...job, status }, { subresource: "status" });
  }
  return requeue === undefined ? undefined : { requeueAfterMs: requeue };
}

/** The pod template with the labels Kubernetes puts on a Job's pods. */
function withJobLabels(job: Job): PodTemplate {
  const template = clone(job.spec.template);
  const uid = job.metadata.uid ?? "";
  template.metadata = {
    ...template.metadata,
    labels: {
      ...template.metadata?.labels,
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": job.metadata.name ?? "",
      "controller-uid": uid,
      "job-name": job.metadata.name ?? "",
    },
  };
  return template;
}

/** The Job controller. */
export const jobController: Controller = {
  name: "job",
  watches: ["batch/jobs", "/pods"],
  keys: async (deps) => (await deps.cache.list(R.jobs)).map(keyOf),
  keysFor: ownerKeys("batch/jobs", "Job", ["/pods"]),
  reconcile: reconcileJob,
};
