/** apps/v1 Deployment protobuf field numbers (generated.proto), for kubectl create deployment. */
import { LABEL_SELECTOR, OBJECT_META, POD_TEMPLATE, type Schema } from "../protobuf-schemas.ts";

/** The Deployment message. */
export const deploymentProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["replicas", "int"],
      2: ["selector", LABEL_SELECTOR],
      3: ["template", POD_TEMPLATE],
      4: ["strategy", { 1: ["type", "string"] }],
      5: ["minReadySeconds", "int"],
      6: ["revisionHistoryLimit", "int"],
      9: ["progressDeadlineSeconds", "int"],
    },
  ],
};
