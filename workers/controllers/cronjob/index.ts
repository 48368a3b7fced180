/**
 * CronJob controller: creates a Job for each scheduled time (UTC), honouring
 * suspend, startingDeadlineSeconds and concurrencyPolicy (Allow, Forbid,
 * Replace), records lastScheduleTime/lastSuccessfulTime/active, and prunes
 * finished Jobs beyond the history limits. It wakes itself for the next run.
 */
import type { KubeObject, ObjectMeta, OwnerReference } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import {
  canonicalJson,
  clone,
  controllerRef,
  keyOf,
  type PodTemplate,
  splitKey,
  timestamp,
} from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { finished, type Job } from "../job/index.ts";
import { ownerKeys } from "../keys.ts";
import { ownerRefTo } from "../pods.ts";
import { lastBetween, nextAfter, parseCron } from "./schedule.ts";

/** A CronJob (batch/v1). */
export interface CronJob extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    schedule: string;
    suspend?: boolean;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate: { metadata?: ObjectMeta; spec: { template: PodTemplate; [field: string]: unknown } };
  };
  status?: { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: Partial<OwnerReference>[] };
}

const SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/** Reconcile one CronJob ("namespace/name"). */
export async function reconcileCronJob(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const cached = await deps.cache.get<CronJob>(R.cronjobs, namespace, name);
  if (!cached || cached.metadata.deletionTimestamp) return undefined;
  const cj = { apiVersion: "batch/v1", kind: "CronJob", ...clone(cached) } as CronJob;
  const now = deps.now();
  let cron: ReturnType<typeof parseCron>;
  try {
    cron = parseCron(cj.spec.schedule);
  } catch (error) {
    await deps.recorder.event(
      cj,
      "Warning",
      "UnparseableSchedule",
      `unparseable schedule: ${(error as Error).message}`,
    );
    return undefined;
  }
  const jobs = (await deps.cache.list<Job>(R.jobs)).filter(
    (j) => j.metadata.namespace === namespace && controllerRef(j)?.uid === cj.metadata.uid,
  );
  const active = jobs.filter((j) => !finished(j) && !j.metadata.deletionTimestamp);
  const status = { ...clone(cj.status ?? {}) };

  const since = new Date(
    Date.parse(status.lastScheduleTime ?? cj.metadata.creationTimestamp ?? timestamp(now)),
  );
  const due = lastBetween(cron, since, now);
  const deadline = cj.spec.startingDeadlineSeconds;
  const tooLate = due && deadline !== undefined && due.getTime() + deadline * 1000 < now.getTime();
  if (due && !cj.spec.suspend && !tooLate) {
    const policy = cj.spec.concurrencyPolicy ?? "Allow";
    if (policy === "Forbid" && active.length > 0) {
      await deps.recorder.event(
        cj,
        "Normal",
        "JobAlreadyActive",
        "Not starting job because prior execution is running and concurrency policy is Forbid",
      );
    } else {
      if (policy === "Replace") {
        for (const j of active) {
          await deps.client
            .delete(R.jobs, namespace, j.metadata.name ?? "", { propagationPolicy: "Background" })
            .catch(() => undefined);
          await deps.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${j.metadata.name}`);
        }
        active.length = 0;
      }
      const jobName = `${name}-${Math.floor(due.getTime() / 60_000)}`;
      const job: Job = {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
          name: jobName,
          namespace,
          labels: { ...cj.spec.jobTemplate.metadata?.labels },
          annotations: { ...cj.spec.jobTemplate.metadata?.annotations, [SCHEDULED_AT]: due.toISOString() },
          ownerReferences: [ownerRefTo(cj)],
        },
        spec: clone(cj.spec.jobTemplate.spec) as Job["spec"],
      };
      try {
        const created = await deps.client.create<Job>(R.jobs, namespace, job);
        active.push(created);
        await deps.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${jobName}`);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 409)) throw error;
      }
    }
    status.lastScheduleTime = timestamp(due);
  } else if (due) status.lastScheduleTime = timestamp(due);

  // History: keep the newest N successful and M failed finished Jobs.
  const done = jobs.filter((j) => finished(j) && !j.metadata.deletionTimestamp);
  const byAge = (a: Job, b: Job) =>
    (a.metadata.creationTimestamp ?? "") < (b.metadata.creationTimestamp ?? "") ? -1 : 1;
  const succeeded = done.filter((j) => finished(j)?.type === "Complete").sort(byAge);
  const failed = done.filter((j) => finished(j)?.type === "Failed").sort(byAge);
  const prune = [
    ...succeeded.slice(0, Math.max(0, succeeded.length - (cj.spec.successfulJobsHistoryLimit ?? 3))),
    ...failed.slice(0, Math.max(0, failed.length - (cj.spec.failedJobsHistoryLimit ?? 1))),
  ];
  for (const j of prune) {
    await deps.client
      .delete(R.jobs, namespace, j.metadata.name ?? "", { propagationPolicy: "Background" })
      .catch(() => undefined);
  }
  const lastSuccess = succeeded.at(-1)?.status?.completionTime;
  if (lastSuccess && (!status.lastSuccessfulTime || lastSuccess > status.lastSuccessfulTime))
    status.lastSuccessfulTime = lastSuccess;
  status.active = active.map((j) => ({
    apiVersion: "batch/v1",
    kind: "Job",
    name: j.metadata.name,
    namespace,
    uid: j.metadata.uid,
    resourceVersion: j.metadata.resourceVersion,
  }));
  if (status.active.length === 0) delete status.active;
  const comparable = (s: CronJob["status"]) => canonicalJson({ ...s, active: s?.active?.map((a) => a.uid) });
  if (comparable(status) !== comparable(cj.status)) {
    await deps.client.update(R.cronjobs, namespace, { ...cj, status }, { subresource: "status" });
  }
  if (cj.spec.suspend) return undefined;
  const next = nextAfter(cron, now);
  return next ? { requeueAfterMs: next.getTime() - now.getTime() } : undefined;
}

/** The CronJob controller. */
export const cronJobController: Controller = {
  name: "cronjob",
  watches: ["batch/cronjobs", "batch/jobs"],
  keys: async (deps) => (await deps.cache.list(R.cronjobs)).map(keyOf),
  keysFor: ownerKeys("batch/cronjobs", "CronJob", ["batch/jobs"]),
  reconcile: reconcileCronJob,
};
