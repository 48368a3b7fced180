/**
 * metav1.LabelSelector: validation, matching and the string form
 * (as printed by kubectl and stored in Scale.status.selector).
 */
import type { FieldError } from "../../registry/types.ts";
import { forbidden, invalid, notSupported, required } from "./errors.ts";
import { validateLabels, validateLabelValue, validateQualifiedName } from "./names.ts";

/** A metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

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

/** True when the selector has no requirements (selects everything). */
export function selectorIsEmpty(selector: LabelSelector | undefined): boolean {
  return (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  );
}

/** Whether `labels` satisfy the selector (an empty selector matches everything). */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> = {},
): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** The selector's string form, e.g. "app=web,tier in (a,b),!legacy" (metav1.FormatLabelSelector). */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return "<none>";
  const parts = Object.keys(selector.matchLabels ?? {})
    .sort()
    .map((k) => `${k}=${selector.matchLabels?.[k]}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : "<none>";
}
