/**
 * What every workload controller's spec shares: a non-empty selector that
 * matches its pod template's labels, a valid template, a replica count.
 */
import { labelSelectorAsMatcher, selectorIsEmpty } from "../../../client/labels.ts";
import type { LabelSelector } from "../../../client/types.ts";
import type { FieldError } from "../../registry/types.ts";
import { checkImmutable, invalid, required } from "./errors.ts";
import { nonNegativeInt } from "./numbers.ts";
import { validatePodTemplate } from "./podspec.ts";
import { validateLabelSelector } from "./selector.ts";

type Obj = Record<string, unknown>;

/** Errors of spec.selector + spec.template (+ spec.replicas when `replicas`), with the template's allowed restart policies. */
export function validateWorkloadSpec(
  spec: Obj,
  path: string,
  restartPolicies: readonly string[],
  options: { replicas?: boolean; templatePath?: string; noSelector?: boolean } = {},
): FieldError[] {
  const errs: FieldError[] = [];
  const selector = spec.selector as LabelSelector | undefined;
  const templatePath = options.templatePath ?? `${path}.template`;
  // A CronJob's job template has no selector: each Job generates its own when created.
  if (!options.noSelector) {
    if (selectorIsEmpty(selector)) errs.push(required(`${path}.selector`));
    else errs.push(...validateLabelSelector(selector, `${path}.selector`));
  }
  const template = spec.template as Obj | undefined;
  errs.push(...validatePodTemplate(template, templatePath, restartPolicies));
  const labels = ((template?.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
  // As kube: a selector that does not compile (unknown operator) is reported above, not matched here.
  const matcher =
    !options.noSelector && !selectorIsEmpty(selector) && template ? compiled(selector) : undefined;
  if (matcher && !matcher(labels))
    errs.push(
      invalid(`${templatePath}.metadata.labels`, labels, "`selector` does not match template `labels`"),
    );
  if (options.replicas) errs.push(...nonNegativeInt(spec.replicas, `${path}.replicas`));
  errs.push(...nonNegativeInt(spec.minReadySeconds, `${path}.minReadySeconds`));
  errs.push(...nonNegativeInt(spec.revisionHistoryLimit, `${path}.revisionHistoryLimit`));
  return errs;
}

/** The selector's matcher, or undefined when it does not compile (kube's LabelSelectorAsSelector error). */
function compiled(
  selector: LabelSelector | undefined,
): ((labels: Record<string, string>) => boolean) | undefined {
  try {
    return labelSelectorAsMatcher(selector);
  } catch {
    return undefined;
  }
}

function selectorOf(spec: object | undefined): unknown {
  return spec && "selector" in spec ? spec.selector : undefined;
}

/** apps/v1 forbids changing spec.selector after creation. */
export function selectorImmutable(object: { spec?: object }, old: { spec?: object }): FieldError[] {
  return checkImmutable(selectorOf(object.spec), selectorOf(old.spec), "spec.selector");
}

/** A percentage or integer (intstr) field: errors when neither a non-negative int nor "N%". */
export function validateIntOrPercent(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "number") return nonNegativeInt(value, field);
  if (typeof value === "string" && /^\d+%$/.test(value)) {
    return Number(value.slice(0, -1)) > 100 ? [invalid(field, value, "must not be greater than 100%")] : [];
  }
  return [
    invalid(
      field,
      value,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ),
  ];
}

/** The integer an intstr stands for at `total` (percentages round up for surge, down for unavailable). */
export function intOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.endsWith("%")) {
    const v = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(v) : Math.floor(v);
  }
  return 0;
}
