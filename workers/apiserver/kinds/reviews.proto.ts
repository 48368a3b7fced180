/** authorization.k8s.io/v1 access reviews and authentication.k8s.io/v1 SelfSubjectReview: protobuf field numbers (generated.proto), for `kubectl auth can-i` and `auth whoami`. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

const RESOURCE_ATTRIBUTES: Schema = {
  1: ["namespace", "string"],
  2: ["verb", "string"],
  3: ["group", "string"],
  4: ["version", "string"],
  5: ["resource", "string"],
  6: ["subresource", "string"],
  7: ["name", "string"],
};
const NON_RESOURCE_ATTRIBUTES: Schema = { 1: ["path", "string"], 2: ["verb", "string"] };

/** SelfSubjectAccessReview. */
export const selfSubjectAccessReviewProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    { 1: ["resourceAttributes", RESOURCE_ATTRIBUTES], 2: ["nonResourceAttributes", NON_RESOURCE_ATTRIBUTES] },
  ],
};

/** SelfSubjectRulesReview. */
export const selfSubjectRulesReviewProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["spec", { 1: ["namespace", "string"] }],
};

/** SubjectAccessReview (extra is not decoded from protobuf). */
export const subjectAccessReviewProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["resourceAttributes", RESOURCE_ATTRIBUTES],
      2: ["nonResourceAttributes", NON_RESOURCE_ATTRIBUTES],
      3: ["user", "string"],
      4: ["groups", "strings"],
      6: ["uid", "string"],
    },
  ],
};

/** SelfSubjectReview (no spec). */
export const selfSubjectReviewProto: Schema = { 1: ["metadata", OBJECT_META] };
