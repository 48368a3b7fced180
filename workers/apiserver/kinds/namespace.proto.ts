/** core/v1 Namespace protobuf field numbers (generated.proto), for kubectl create namespace. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The Namespace message. */
export const namespaceProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["spec", { 1: ["finalizers", "strings"] }],
};
