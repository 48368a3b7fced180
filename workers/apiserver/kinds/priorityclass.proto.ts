/** scheduling.k8s.io/v1 PriorityClass protobuf field numbers (generated.proto), for kubectl create priorityclass. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The PriorityClass message. */
export const priorityClassProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["value", "int"],
  3: ["globalDefault", "bool"],
  4: ["description", "string"],
  5: ["preemptionPolicy", "string"],
};
