/** batch/v1 CronJob: schedule syntax, job template, SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE. */

import { formatLabelSelector } from "../../client/labels.ts";
import type { CronJob, LabelSelector } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { defaultJobSpec, validateJobSpec } from "./job.ts";
import { AGE, age, col, containersAndImages, since } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { list, obj, setDefault, specOf } from "./util.ts";
import { validateSchedule } from "./validation/cron.ts";
import { invalid } from "./validation/errors.ts";
import { nonNegativeInt, oneOf } from "./validation/numbers.ts";
import { TEMPLATE_COLUMNS } from "./workload-print.ts";

function validateCronJob(cj: CronJob): FieldError[] {
  const spec = obj(cj.spec);
  const errs: FieldError[] = [];
  const name = cj.metadata?.name ?? "";
  // Job names get an 11-character suffix and must stay valid label values.
  if (name.length > 52) errs.push(invalid("metadata.name", name, "must be no more than 52 characters"));
  errs.push(...validateSchedule(spec.schedule, "spec.schedule"));
  errs.push(...oneOf(spec.concurrencyPolicy, ["Allow", "Forbid", "Replace"], "spec.concurrencyPolicy"));
  errs.push(...nonNegativeInt(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds"));
  errs.push(...nonNegativeInt(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit"));
  errs.push(...nonNegativeInt(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit"));
  errs.push(...validateJobSpec(obj(obj(spec.jobTemplate).spec), "spec.jobTemplate.spec", false));
  return errs;
}

/** The CronJob strategy. */
export const cronJobStrategy: Strategy<CronJob> = {
  defaults(cj) {
    const spec = specOf(cj);
    setDefault(spec, "concurrencyPolicy", "Allow");
    setDefault(spec, "suspend", false);
    setDefault(spec, "successfulJobsHistoryLimit", 3);
    setDefault(spec, "failedJobsHistoryLimit", 1);
    const jobSpec = obj(obj(spec.jobTemplate).spec);
    if (spec.jobTemplate) defaultJobSpec(jobSpec);
  },
  ...statusSplit(),
  validate: validateCronJob,
  specChanged: specDiffers,
  columns: [
    col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col(
      "Timezone",
      "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
    ),
    col("Suspend", "This flag tells the controller to suspend subsequent executions.", { type: "boolean" }),
    col("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    AGE,
    ...TEMPLATE_COLUMNS,
  ],
  row(cj, now) {
    const spec = obj(cj.spec);
    const status = obj(cj.status);
    const jobSpec = obj(obj(spec.jobTemplate).spec);
    const [names, images] = containersAndImages(obj(jobSpec.template).spec);
    return [
      spec.schedule ?? "",
      (spec.timeZone as string) || "<none>",
      spec.suspend === undefined ? "<unset>" : spec.suspend ? "True" : "False",
      list(status.active).length,
      status.lastScheduleTime ? since(status.lastScheduleTime as string, now) : "<none>",
      age(cj, now),
      names,
      images,
      formatLabelSelector(jobSpec.selector as LabelSelector | undefined),
    ];
  },
};
