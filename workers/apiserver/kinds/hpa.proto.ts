/**
 * autoscaling/v1 and v2 HorizontalPodAutoscaler protobuf field numbers
 * (generated.proto), for `kubectl autoscale` (1.32 sends v1, 1.33 v2, both as
 * protobuf). Quantity targets (value, averageValue) are not listed: kubectl
 * sends utilization targets only; a client sending quantities uses JSON.
 */
import { LABEL_SELECTOR, OBJECT_META, type Schema } from "../protobuf-schemas.ts";

const REF: Schema = { 1: ["kind", "string"], 2: ["name", "string"], 3: ["apiVersion", "string"] };

/** The autoscaling/v1 message. */
export const hpaV1Proto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["scaleTargetRef", REF],
      2: ["minReplicas", "int"],
      3: ["maxReplicas", "int"],
      4: ["targetCPUUtilizationPercentage", "int"],
    },
  ],
};

const TARGET: Schema = { 1: ["type", "string"], 4: ["averageUtilization", "int"] };
const IDENTIFIER: Schema = { 1: ["name", "string"], 2: ["selector", LABEL_SELECTOR] };
const RULES: Schema = {
  1: ["selectPolicy", "string"],
  2: ["policies", [{ 1: ["type", "string"], 2: ["value", "int"], 3: ["periodSeconds", "int"] }]],
  3: ["stabilizationWindowSeconds", "int"],
};

/** The autoscaling/v2 message. */
export const hpaV2Proto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["scaleTargetRef", REF],
      2: ["minReplicas", "int"],
      3: ["maxReplicas", "int"],
      4: [
        "metrics",
        [
          {
            1: ["type", "string"],
            2: ["object", { 1: ["describedObject", REF], 2: ["target", TARGET], 3: ["metric", IDENTIFIER] }],
            3: ["pods", { 1: ["metric", IDENTIFIER], 2: ["target", TARGET] }],
            4: ["resource", { 1: ["name", "string"], 2: ["target", TARGET] }],
            5: ["external", { 1: ["metric", IDENTIFIER], 2: ["target", TARGET] }],
            7: [
              "containerResource",
              { 1: ["name", "string"], 2: ["target", TARGET], 3: ["container", "string"] },
            ],
          },
        ],
      ],
      5: ["behavior", { 1: ["scaleUp", RULES], 2: ["scaleDown", RULES] }],
    },
  ],
};
