/** batch/v1 CronJob protobuf field numbers (generated.proto), for kubectl create cronjob. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";
import { JOB_SPEC } from "./job.proto.ts";

/** The CronJob message. */
export const cronJobProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["schedule", "string"],
      2: ["startingDeadlineSeconds", "int"],
      3: ["concurrencyPolicy", "string"],
      4: ["suspend", "keepbool"],
      5: ["jobTemplate", { 1: ["metadata", OBJECT_META], 2: ["spec", JOB_SPEC] }],
      6: ["successfulJobsHistoryLimit", "int"],
      7: ["failedJobsHistoryLimit", "int"],
      8: ["timeZone", "string"],
    },
  ],
};
