/**
 * Protobuf field numbers (k8s.io/api generated.proto) of policy/v1
 * PodDisruptionBudget, core/v1 ResourceQuota and LimitRange, for kubectl's
 * typed `create pdb` and `create quota` (protobuf bodies since 1.32).
 */
import { LABEL_SELECTOR, OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The PodDisruptionBudget message (spec only: status is the controller's). */
export const podDisruptionBudgetProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["minAvailable", "intorstring"],
      2: ["selector", LABEL_SELECTOR],
      3: ["maxUnavailable", "intorstring"],
      4: ["unhealthyPodEvictionPolicy", "string"],
    },
  ],
};

/** The ResourceQuota message (spec only). */
export const resourceQuotaProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["hard", "quantitymap"],
      2: ["scopes", "strings"],
      3: [
        "scopeSelector",
        {
          1: [
            "matchExpressions",
            [{ 1: ["scopeName", "string"], 2: ["operator", "string"], 3: ["values", "strings"] }],
          ],
        },
      ],
    },
  ],
};

/** The LimitRange message. */
export const limitRangeProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: [
        "limits",
        [
          {
            1: ["type", "string"],
            2: ["max", "quantitymap"],
            3: ["min", "quantitymap"],
            4: ["default", "quantitymap"],
            5: ["defaultRequest", "quantitymap"],
            6: ["maxLimitRequestRatio", "quantitymap"],
          },
        ],
      ],
    },
  ],
};
