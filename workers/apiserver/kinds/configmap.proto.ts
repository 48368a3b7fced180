/** core/v1 ConfigMap protobuf field numbers (generated.proto), for kubectl create configmap. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The ConfigMap message. */
export const configMapProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["data", "map"],
  3: ["binaryData", "bytesmap"],
  4: ["immutable", "keepbool"],
};
