/** core/v1 ServiceAccount protobuf field numbers (generated.proto), for kubectl create serviceaccount. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The ServiceAccount message. */
export const serviceAccountProto: Schema = {
  1: ["metadata", OBJECT_META],
  3: ["imagePullSecrets", [{ 1: ["name", "string"] }]],
  4: ["automountServiceAccountToken", "keepbool"],
};
