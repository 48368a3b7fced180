import type { ReplicaSet } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";
import { selectorImmutable, validateWorkloadSpec } from "./validation/workload.ts";
import { specInt, statusInt, TEMPLATE_COLUMNS, templateCells } from "./workload-print.ts";

/** The ReplicaSet strategy. */
export const replicaSetStrategy: Strategy<ReplicaSet> = {
  defaults(rs) {
    const spec = specOf(rs);
    setDefault(spec, "replicas", 1);
    defaultPodTemplate(spec.template);
  },
  ...statusSplit(),
  validate: (rs) => validateWorkloadSpec(obj(rs.spec), "spec", ["Always"], { replicas: true }),
  validateUpdate: selectorImmutable,
  specChanged: specDiffers,
  columns: [
    col("Desired", "Replicas is the number of desired pods.", { type: "integer" }),
    col("Current", "Replicas is the most recently observed number of replicas.", { type: "integer" }),
    col("Ready", "The number of ready replicas for this replica set.", { type: "integer" }),
    AGE,
    ...TEMPLATE_COLUMNS,
  ],
  row: (rs, now) => [
    specInt(rs, "replicas", 1),
    statusInt(rs, "replicas"),
    statusInt(rs, "readyReplicas"),
    age(rs, now),
    ...templateCells(rs),
  ],
  fieldSelectors: { "status.replicas": (rs) => String(statusInt(rs, "replicas")) },
};
