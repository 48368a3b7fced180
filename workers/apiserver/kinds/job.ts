/**
 * batch/v1 Job: SetDefaults_Job, the generated selector and pod labels
 * (batch.kubernetes.io/controller-uid), immutable selector and template,
 * and the STATUS COMPLETIONS DURATION columns.
 */

import type { Job } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col, humanDuration } from "./print.ts";
import { conditions, specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { checkImmutable, required } from "./validation/errors.ts";
import { nonNegativeInt, oneOf, positiveInt } from "./validation/numbers.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";
import { validateWorkloadSpec } from "./validation/workload.ts";
import { statusInt, TEMPLATE_COLUMNS, templateCells } from "./workload-print.ts";

/** SetDefaults_Job on a job spec (also used for CronJob job templates). */
export function defaultJobSpec(spec: Record<string, unknown>): void {
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, "parallelism", 1);
  setDefault(spec, "backoffLimit", spec.backoffLimitPerIndex != null ? 2147483647 : 6);
  setDefault(spec, "completionMode", "NonIndexed");
  setDefault(spec, "suspend", false);
  setDefault(spec, "manualSelector", false);
  setDefault(spec, "podReplacementPolicy", spec.podFailurePolicy ? "Failed" : "TerminatingOrFailed");
  defaultPodTemplate(spec.template);
}

/** Unless manualSelector, select the job's pods by its uid and label the template to match (generateSelector). */
function generateSelector(job: Job): void {
  const spec = specOf(job);
  const uid = job.metadata?.uid;
  if (spec.manualSelector === true || !uid || !job.metadata?.name) return;
  const template = obj(spec.template);
  spec.template = template;
  const meta = obj(template.metadata);
  template.metadata = meta;
  const name = job.metadata.name;
  meta.labels = {
    ...obj(meta.labels),
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": uid,
    "job-name": name,
  };
  if (!spec.selector) spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
}

/** Errors of a job spec at `path` (a Job's "spec" or a CronJob's "spec.jobTemplate.spec"). */
export function validateJobSpec(
  spec: Record<string, unknown>,
  path: string,
  needSelector: boolean,
): FieldError[] {
  const errs = validateWorkloadSpec(spec, path, ["OnFailure", "Never"], { noSelector: !needSelector });
  errs.push(...nonNegativeInt(spec.parallelism, `${path}.parallelism`));
  errs.push(...nonNegativeInt(spec.completions, `${path}.completions`));
  errs.push(...nonNegativeInt(spec.backoffLimit, `${path}.backoffLimit`));
  errs.push(...positiveInt(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...nonNegativeInt(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`));
  errs.push(...oneOf(spec.completionMode, ["Indexed", "NonIndexed"], `${path}.completionMode`));
  if (spec.completionMode === "Indexed" && spec.completions == null)
    errs.push(required(`${path}.completions`, "when completion mode is Indexed"));
  const policy = obj(obj(spec.template).spec).restartPolicy;
  if (policy === undefined) errs.push(required(`${path}.template.spec.restartPolicy`));
  return errs;
}

function jobStatus(job: Job): string {
  const has = (type: string) => conditions(job).some((c) => c.type === type && c.status === "True");
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (job.metadata?.deletionTimestamp) return "Terminating";
  if (has("Suspended")) return "Suspended";
  if (has("FailureTarget")) return "FailureTarget";
  if (has("SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

function completions(job: Job): string {
  const spec = obj(job.spec);
  const succeeded = statusInt(job, "succeeded");
  if (spec.completions != null) return `${succeeded}/${spec.completions}`;
  const parallelism = Number(spec.parallelism ?? 0);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function duration(job: Job, now: Date): string {
  const status = obj(job.status);
  if (!status.startTime) return "";
  const end = status.completionTime ? Date.parse(status.completionTime as string) : now.getTime();
  return humanDuration(end - Date.parse(status.startTime as string));
}

/** The Job strategy. */
export const jobStrategy: Strategy<Job> = {
  defaults(job) {
    const spec = specOf(job);
    defaultJobSpec(spec);
    const templateLabels = obj(obj(spec.template).metadata).labels as Record<string, string> | undefined;
    const meta = job.metadata ?? {};
    if (templateLabels && Object.keys(meta.labels ?? {}).length === 0) meta.labels = { ...templateLabels };
  },
  prepareForCreate(job, ctx) {
    statusSplit().prepareForCreate?.(job, ctx);
    generateSelector(job);
  },
  prepareForUpdate: statusSplit().prepareForUpdate,
  prepareForStatusUpdate: statusSplit().prepareForStatusUpdate,
  validate(job) {
    // As kube does, generate the selector at validation time too: the uid may be assigned after prepareForCreate.
    if (!obj(job.spec).selector) generateSelector(job);
    return validateJobSpec(obj(job.spec), "spec", true);
  },
  validateUpdate(job, old) {
    const now = obj(job.spec);
    const before = obj(old.spec);
    return [
      ...checkImmutable(now.selector, before.selector, "spec.selector"),
      ...checkImmutable(now.template, before.template, "spec.template"),
      ...checkImmutable(now.completions, before.completions, "spec.completions"),
      ...checkImmutable(now.completionMode, before.completionMode, "spec.completionMode"),
    ];
  },
  specChanged: specDiffers,
  columns: [
    col("Status", "Status of the job."),
    col("Completions", "The completion status of the job."),
    col("Duration", "Time required to complete the job."),
    AGE,
    ...TEMPLATE_COLUMNS,
  ],
  row: (job, now) => [
    jobStatus(job),
    completions(job),
    duration(job, now),
    age(job, now),
    ...templateCells(job),
  ],
  fieldSelectors: { "status.successful": (job) => String(statusInt(job, "succeeded")) },
};
