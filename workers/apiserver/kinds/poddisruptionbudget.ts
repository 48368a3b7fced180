/**
 * policy/v1 PodDisruptionBudget: kube's validation (pkg/apis/policy/validation:
 * minAvailable and maxUnavailable each an int or a percentage, never both; the
 * selector; the unhealthy-pod eviction policy; non-negative status counts),
 * the status split (the disruption controller writes status) and kube's
 * printer columns (MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS).
 */
import type { PodDisruptionBudget } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, specOf } from "./util.ts";
import { invalid } from "./validation/errors.ts";
import { nonNegativeInt, oneOf } from "./validation/numbers.ts";
import { validateLabelSelector } from "./validation/selector.ts";
import { validateIntOrPercent } from "./validation/workload.ts";

const EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"];

/** Every field error of a PDB's spec (ValidatePodDisruptionBudgetSpec). */
function validateSpec(pdb: PodDisruptionBudget): FieldError[] {
  const spec = specOf(pdb);
  const errs: FieldError[] = [];
  const both = spec.minAvailable !== undefined && spec.maxUnavailable !== undefined;
  if (both) errs.push(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
  errs.push(...validateIntOrPercent(spec.minAvailable, "spec.minAvailable"));
  errs.push(...validateIntOrPercent(spec.maxUnavailable, "spec.maxUnavailable"));
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  errs.push(...oneOf(spec.unhealthyPodEvictionPolicy, EVICTION_POLICIES, "spec.unhealthyPodEvictionPolicy"));
  return errs;
}

/** Every field error of a status write (ValidatePodDisruptionBudgetStatusUpdate, policy/v1). */
function validateStatus(pdb: PodDisruptionBudget): FieldError[] {
  const status = obj(pdb.status);
  return ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"].flatMap((f) =>
    nonNegativeInt(status[f], `status.${f}`),
  );
}

/** An intstr as kube's IntOrString.String() prints it, or "N/A" when unset. */
function intOrPercentCell(value: unknown): string {
  return value === undefined || value === null ? "N/A" : String(value);
}

/** The PodDisruptionBudget strategy. */
export const podDisruptionBudgetStrategy: Strategy<PodDisruptionBudget> = {
  // kube's PrepareForCreate clears status to its zero value: every count present, as 0.
  ...statusSplit<PodDisruptionBudget>(() => ({
    disruptionsAllowed: 0,
    currentHealthy: 0,
    desiredHealthy: 0,
    expectedPods: 0,
  })),
  validate: (pdb) => validateSpec(pdb),
  validateStatusUpdate: (pdb) => validateStatus(pdb),
  specChanged: specDiffers,
  columns: [
    col("Min Available", "The minimum number of pods that must be available."),
    col("Max Unavailable", "The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", {
      type: "integer",
    }),
    AGE,
  ],
  row: (pdb, now) => [
    intOrPercentCell(pdb.spec?.minAvailable),
    intOrPercentCell(pdb.spec?.maxUnavailable),
    pdb.status?.disruptionsAllowed ?? 0,
    age(pdb, now),
  ],
};
