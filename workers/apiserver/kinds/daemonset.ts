/** apps/v1 DaemonSet: one pod per eligible node; DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR. */

import type { DaemonSet } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col, formatLabels } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { forbidden } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";
import { selectorImmutable, validateIntOrPercent, validateWorkloadSpec } from "./validation/workload.ts";
import { statusInt, TEMPLATE_COLUMNS, templateCells } from "./workload-print.ts";

function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec = obj(ds.spec);
  const errs = validateWorkloadSpec(spec, "spec", ["Always"]);
  const update = obj(spec.updateStrategy);
  errs.push(...oneOf(update.type, ["OnDelete", "RollingUpdate"], "spec.updateStrategy.type"));
  if (update.type === "OnDelete" && update.rollingUpdate)
    errs.push(
      forbidden(
        "spec.updateStrategy.rollingUpdate",
        "may not be specified when strategy `type` is 'OnDelete'",
      ),
    );
  const ru = obj(update.rollingUpdate);
  errs.push(...validateIntOrPercent(ru.maxUnavailable, "spec.updateStrategy.rollingUpdate.maxUnavailable"));
  errs.push(...validateIntOrPercent(ru.maxSurge, "spec.updateStrategy.rollingUpdate.maxSurge"));
  return errs;
}

/** The DaemonSet strategy. */
export const daemonSetStrategy: Strategy<DaemonSet> = {
  defaults(ds) {
    const spec = specOf(ds);
    setDefault(spec, "updateStrategy", {});
    const update = obj(spec.updateStrategy);
    setDefault(update, "type", "RollingUpdate");
    if (update.type === "RollingUpdate") {
      setDefault(update, "rollingUpdate", {});
      setDefault(obj(update.rollingUpdate), "maxUnavailable", 1);
      setDefault(obj(update.rollingUpdate), "maxSurge", 0);
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    defaultPodTemplate(spec.template);
  },
  ...statusSplit(),
  validate: validateDaemonSet,
  validateUpdate: selectorImmutable,
  specChanged: specDiffers,
  columns: [
    col("Desired", "The total number of nodes that should be running the daemon pod.", { type: "integer" }),
    col(
      "Current",
      "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
      { type: "integer" },
    ),
    col(
      "Ready",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
      { type: "integer" },
    ),
    col("Up-to-date", "The total number of nodes that are running updated daemon pod", { type: "integer" }),
    col(
      "Available",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
      { type: "integer" },
    ),
    col(
      "Node Selector",
      "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node.",
    ),
    AGE,
    ...TEMPLATE_COLUMNS,
  ],
  row: (ds, now) => [
    statusInt(ds, "desiredNumberScheduled"),
    statusInt(ds, "currentNumberScheduled"),
    statusInt(ds, "numberReady"),
    statusInt(ds, "updatedNumberScheduled"),
    statusInt(ds, "numberAvailable"),
    formatLabels(obj(obj(obj(ds.spec).template).spec).nodeSelector as Record<string, string>),
    age(ds, now),
    ...templateCells(ds),
  ],
};
