/** batch/v1 Job protobuf field numbers (generated.proto), for kubectl create job. */
import { LABEL_SELECTOR, OBJECT_META, POD_TEMPLATE, type Schema } from "../protobuf-schemas.ts";

/** batch/v1 JobSpec (also a CronJob's jobTemplate.spec). */
export const JOB_SPEC: Schema = {
  1: ["parallelism", "int"],
  2: ["completions", "int"],
  3: ["activeDeadlineSeconds", "int"],
  4: ["selector", LABEL_SELECTOR],
  6: ["template", POD_TEMPLATE],
  7: ["backoffLimit", "int"],
  8: ["ttlSecondsAfterFinished", "int"],
  9: ["completionMode", "string"],
  10: ["suspend", "keepbool"],
};

/** The Job message. */
export const jobProto: Schema = { 1: ["metadata", OBJECT_META], 2: ["spec", JOB_SPEC] };
