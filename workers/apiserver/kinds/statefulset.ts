/** apps/v1 StatefulSet: ordered pods with stable names; most of the spec is immutable. */

import type { StatefulSet } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { list, obj, setDefault, specOf } from "./util.ts";
import { deepEqual, forbidden, required } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";
import { validateWorkloadSpec } from "./validation/workload.ts";
import { specInt, statusInt, TEMPLATE_COLUMNS, templateCells } from "./workload-print.ts";

const MUTABLE = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "revisionHistoryLimit",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

/** The spec as pods will see it: each claim template is a volume the containers may mount. */
function withClaimVolumes(spec: Record<string, unknown>): Record<string, unknown> {
  const templates = list(spec.volumeClaimTemplates);
  const template = obj(spec.template);
  if (!templates.length || !template.spec) return spec;
  const claims = templates.map((t) => {
    const name = obj(t.metadata).name;
    return { name, persistentVolumeClaim: { claimName: `${name}` } };
  });
  const podSpec = obj(template.spec);
  const names = new Set(claims.map((c) => c.name));
  const volumes = [...list(podSpec.volumes).filter((v) => !names.has(v.name)), ...claims];
  return { ...spec, template: { ...template, spec: { ...podSpec, volumes } } };
}

function validateStatefulSet(sts: StatefulSet): FieldError[] {
  const spec = obj(sts.spec);
  const errs = validateWorkloadSpec(withClaimVolumes(spec), "spec", ["Always"], { replicas: true });
  errs.push(...oneOf(spec.podManagementPolicy, ["OrderedReady", "Parallel"], "spec.podManagementPolicy"));
  errs.push(
    ...oneOf(obj(spec.updateStrategy).type, ["OnDelete", "RollingUpdate"], "spec.updateStrategy.type"),
  );
  list(spec.volumeClaimTemplates).forEach((t, i) => {
    if (!obj(t.metadata).name) errs.push(required(`spec.volumeClaimTemplates[${i}].metadata.name`));
  });
  return errs;
}

/** The StatefulSet strategy. */
export const statefulSetStrategy: Strategy<StatefulSet> = {
  defaults(sts) {
    const spec = specOf(sts);
    setDefault(spec, "replicas", 1);
    setDefault(spec, "podManagementPolicy", "OrderedReady");
    setDefault(spec, "updateStrategy", { type: "RollingUpdate" });
    const update = obj(spec.updateStrategy);
    if (update.type === "RollingUpdate") {
      setDefault(update, "rollingUpdate", {});
      setDefault(obj(update.rollingUpdate), "partition", 0);
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "persistentVolumeClaimRetentionPolicy", { whenDeleted: "Retain", whenScaled: "Retain" });
    defaultPodTemplate(spec.template);
  },
  ...statusSplit(),
  validate: validateStatefulSet,
  validateUpdate(sts, old) {
    const now = { ...obj(sts.spec) };
    const before = { ...obj(old.spec) };
    for (const k of MUTABLE) {
      delete now[k];
      delete before[k];
    }
    return deepEqual(now, before)
      ? []
      : [
          forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          ),
        ];
  },
  specChanged: specDiffers,
  columns: [col("Ready", "Number of the pod with ready state"), AGE, ...TEMPLATE_COLUMNS.slice(0, 2)],
  row: (sts, now) => [
    `${statusInt(sts, "readyReplicas")}/${specInt(sts, "replicas", 1)}`,
    age(sts, now),
    ...templateCells(sts).slice(0, 2),
  ],
};
