/** rbac/v1 Role, ClusterRole and their bindings: protobuf field numbers (generated.proto), for kubectl create role/rolebinding/clusterrole/clusterrolebinding. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

const POLICY_RULE: Schema = {
  1: ["verbs", "strings"],
  2: ["apiGroups", "strings"],
  3: ["resources", "strings"],
  4: ["resourceNames", "strings"],
  5: ["nonResourceURLs", "strings"],
};

/** RoleBinding and ClusterRoleBinding (the same message shape). */
export const bindingProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "subjects",
    [{ 1: ["kind", "string"], 2: ["apiGroup", "string"], 3: ["name", "string"], 4: ["namespace", "string"] }],
  ],
  3: ["roleRef", { 1: ["apiGroup", "string"], 2: ["kind", "string"], 3: ["name", "string"] }],
};

/** Role and ClusterRole (the same message shape). */
export const roleProto: Schema = { 1: ["metadata", OBJECT_META], 2: ["rules", [POLICY_RULE]] };
