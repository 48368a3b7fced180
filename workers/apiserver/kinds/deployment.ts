import type { Deployment } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { forbidden, invalid } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";
import {
  intOrPercent,
  selectorImmutable,
  validateIntOrPercent,
  validateWorkloadSpec,
} from "./validation/workload.ts";
import { specInt, statusInt, TEMPLATE_COLUMNS, templateCells } from "./workload-print.ts";

const split = statusSplit();

function validateStrategy(spec: Record<string, unknown>): FieldError[] {
  const strategy = obj(spec.strategy);
  const errs = oneOf(strategy.type, ["Recreate", "RollingUpdate"], "spec.strategy.type");
  if (strategy.type === "Recreate" && strategy.rollingUpdate)
    errs.push(
      forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"),
    );
  if (strategy.type === "RollingUpdate") {
    const ru = obj(strategy.rollingUpdate);
    errs.push(...validateIntOrPercent(ru.maxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable"));
    errs.push(...validateIntOrPercent(ru.maxSurge, "spec.strategy.rollingUpdate.maxSurge"));
    if (intOrPercent(ru.maxUnavailable, 100, false) === 0 && intOrPercent(ru.maxSurge, 100, true) === 0)
      errs.push(
        invalid(
          "spec.strategy.rollingUpdate.maxUnavailable",
          ru.maxUnavailable,
          "may not be 0 when `maxSurge` is 0",
        ),
      );
  }
  const deadline = spec.progressDeadlineSeconds as number | undefined;
  if (deadline !== undefined && deadline <= Number(spec.minReadySeconds ?? 0))
    errs.push(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"));
  return errs;
}

/** The Deployment strategy. */
export const deploymentStrategy: Strategy<Deployment> = {
  defaults(d) {
    const spec = specOf(d);
    setDefault(spec, "replicas", 1);
    setDefault(spec, "strategy", {});
    const strategy = obj(spec.strategy);
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") {
      setDefault(strategy, "rollingUpdate", {});
      setDefault(obj(strategy.rollingUpdate), "maxUnavailable", "25%");
      setDefault(obj(strategy.rollingUpdate), "maxSurge", "25%");
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "progressDeadlineSeconds", 600);
    defaultPodTemplate(spec.template);
  },
  ...split,
  validate(d) {
    const spec = obj(d.spec);
    return [...validateWorkloadSpec(spec, "spec", ["Always"], { replicas: true }), ...validateStrategy(spec)];
  },
  validateUpdate: selectorImmutable,
  specChanged: specDiffers,
  columns: [
    col("Ready", "Number of the pod with ready state"),
    col(
      "Up-to-date",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
      "Available",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
      { type: "integer" },
    ),
    AGE,
    ...TEMPLATE_COLUMNS,
  ],
  row: (d, now) => [
    `${statusInt(d, "readyReplicas")}/${specInt(d, "replicas", 1)}`,
    statusInt(d, "updatedReplicas"),
    statusInt(d, "availableReplicas"),
    age(d, now),
    ...templateCells(d),
  ],
};
