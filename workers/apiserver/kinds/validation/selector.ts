/**
 * metav1.LabelSelector validation (ValidateLabelSelector). Matching and the
 * string form live in the wire layer (workers/client/labels.ts).
 */
import type { LabelSelector } from "../../../client/types.ts";
import type { FieldError } from "../../registry/types.ts";
import { forbidden, invalid, notSupported, required } from "./errors.ts";
import { validateLabels, validateLabelValue, validateQualifiedName } from "./names.ts";

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

/** Errors of a label selector (ValidateLabelSelector). */
export function validateLabelSelector(selector: unknown, field: string): FieldError[] {
  if (selector === undefined || selector === null) return [];
  if (typeof selector !== "object") return [invalid(field, selector, "must be an object")];
  const s = selector as LabelSelector;
  const errs = validateLabels(s.matchLabels, `${field}.matchLabels`);
  (s.matchExpressions ?? []).forEach((expr, i) => {
    const path = `${field}.matchExpressions[${i}]`;
    if (!expr.key) errs.push(required(`${path}.key`));
    else errs.push(...validateQualifiedName(expr.key, `${path}.key`));
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0)
          errs.push(required(`${path}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0)
          errs.push(
            forbidden(`${path}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
          );
        break;
      default:
        errs.push(notSupported(`${path}.operator`, expr.operator, OPERATORS));
    }
    values.forEach((v, j) => {
      errs.push(...validateLabelValue(v, `${path}.values[${j}]`));
    });
  });
  return errs;
}
