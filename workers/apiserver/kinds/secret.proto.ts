/** core/v1 Secret protobuf field numbers (generated.proto), for kubectl create secret. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The Secret message. */
export const secretProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["data", "bytesmap"],
  3: ["type", "string"],
  4: ["stringData", "map"],
  5: ["immutable", "keepbool"],
};
