/** core/v1 ReplicationController: the legacy ReplicaSet (equality-based selector map); stored and printed for `kubectl get all`. */

import type { ReplicationController } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col, containersAndImages, formatLabels } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { invalid, required } from "./validation/errors.ts";
import { validateLabels } from "./validation/names.ts";
import { nonNegativeInt } from "./validation/numbers.ts";
import { validatePodTemplate } from "./validation/podspec.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";
import { specInt, statusInt } from "./workload-print.ts";

function validateRC(rc: ReplicationController): FieldError[] {
  const spec = obj(rc.spec);
  const selector = obj(spec.selector) as Record<string, string>;
  const errs = nonNegativeInt(spec.replicas, "spec.replicas");
  if (Object.keys(selector).length === 0) errs.push(required("spec.selector"));
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (spec.template !== undefined) {
    errs.push(...validatePodTemplate(spec.template, "spec.template", ["Always"]));
    const labels = (obj(obj(spec.template).metadata).labels ?? {}) as Record<string, string>;
    if (Object.entries(selector).some(([k, v]) => labels[k] !== v))
      errs.push(
        invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"),
      );
  } else if (Number(spec.replicas ?? 1) > 0) {
    errs.push(required("spec.template"));
  }
  return errs;
}

/** The ReplicationController strategy (the selector defaults to the template's labels, as in kube). */
export const replicationControllerStrategy: Strategy<ReplicationController> = {
  defaults(rc) {
    const spec = specOf(rc);
    setDefault(spec, "replicas", 1);
    const labels = obj(obj(spec.template).metadata).labels;
    if (labels && !spec.selector) spec.selector = { ...(labels as object) };
    defaultPodTemplate(spec.template);
  },
  ...statusSplit(),
  validate: validateRC,
  specChanged: specDiffers,
  columns: [
    col("Desired", "Replicas is the number of desired replicas.", { type: "integer" }),
    col("Current", "Replicas is the most recently observed number of replicas.", { type: "integer" }),
    col("Ready", "The number of ready replicas for this replication controller.", { type: "integer" }),
    AGE,
    col("Containers", "Names of each container in the template.", { wide: true }),
    col("Images", "Images referenced by each container in the template.", { wide: true }),
    col("Selector", "Selector is a label query over pods that should match the Replicas count.", {
      wide: true,
    }),
  ],
  row(rc, now) {
    const spec = obj(rc.spec);
    const [names, images] = containersAndImages(obj(spec.template).spec);
    return [
      specInt(rc, "replicas", 1),
      statusInt(rc, "replicas"),
      statusInt(rc, "readyReplicas"),
      age(rc, now),
      names,
      images,
      formatLabels(spec.selector as Record<string, string>),
    ];
  },
};
