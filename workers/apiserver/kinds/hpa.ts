/**
 * autoscaling/v2 HorizontalPodAutoscaler: kube's defaults (minReplicas 1, a
 * CPU 80 % target when no metric is given), validation
 * (pkg/apis/autoscaling/validation), the status split, and kube's printer
 * columns (REFERENCE, TARGETS like "cpu: 45%/50%", MINPODS, MAXPODS, REPLICAS).
 */
import type { HorizontalPodAutoscaler, MetricSpec, MetricStatus } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { list, obj, setDefault, specOf } from "./util.ts";
import { invalid, notSupported, required } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";

const split = statusSplit<HorizontalPodAutoscaler>();
const METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"];
const TARGET_TYPES = ["AverageValue", "Utilization", "Value"];

function int(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function validateRules(rules: unknown, field: string): FieldError[] {
  if (rules === undefined) return [];
  const r = obj(rules);
  const errs: FieldError[] = [];
  const window = r.stabilizationWindowSeconds;
  if (window !== undefined && (!int(window) || window < 0 || window > 3600))
    errs.push(invalid(`${field}.stabilizationWindowSeconds`, window, "must be between 0 and 3600"));
  if (r.selectPolicy !== undefined)
    errs.push(...oneOf(r.selectPolicy, ["Disabled", "Max", "Min"], `${field}.selectPolicy`));
  list(r.policies).forEach((p, i) => {
    const at = `${field}.policies[${i}]`;
    errs.push(...oneOf(p.type, ["Percent", "Pods"], `${at}.type`));
    if (!int(p.value) || p.value <= 0)
      errs.push(invalid(`${at}.value`, p.value, "must be greater than zero"));
    if (!int(p.periodSeconds) || p.periodSeconds <= 0 || p.periodSeconds > 1800)
      errs.push(invalid(`${at}.periodSeconds`, p.periodSeconds, "must be between 1 and 1800"));
  });
  return errs;
}

function validateTarget(target: unknown, field: string): FieldError[] {
  const t = obj(target);
  if (target === undefined) return [required(field)];
  if (!TARGET_TYPES.includes(t.type as string)) return [notSupported(`${field}.type`, t.type, TARGET_TYPES)];
  if (t.type === "Utilization" && (!int(t.averageUtilization) || t.averageUtilization <= 0))
    return [invalid(`${field}.averageUtilization`, t.averageUtilization, "must be greater than 0")];
  if (t.type === "AverageValue" && t.averageValue === undefined) return [required(`${field}.averageValue`)];
  if (t.type === "Value" && t.value === undefined) return [required(`${field}.value`)];
  return [];
}

function validateMetric(m: Record<string, unknown>, field: string): FieldError[] {
  if (!METRIC_TYPES.includes(m.type as string)) return [notSupported(`${field}.type`, m.type, METRIC_TYPES)];
  const errs: FieldError[] = [];
  if (m.type === "Resource" || m.type === "ContainerResource") {
    const key = m.type === "Resource" ? "resource" : "containerResource";
    const source = obj(m[key]);
    if (m[key] === undefined) return [required(`${field}.${key}`)];
    if (!source.name) errs.push(required(`${field}.${key}.name`));
    if (m.type === "ContainerResource" && !source.container) errs.push(required(`${field}.${key}.container`));
    errs.push(...validateTarget(source.target, `${field}.${key}.target`));
  } else {
    const key = { Pods: "pods", Object: "object", External: "external" }[m.type as string] as string;
    if (m[key] === undefined) errs.push(required(`${field}.${key}`));
    else errs.push(...validateTarget(obj(m[key]).target, `${field}.${key}.target`));
  }
  return errs;
}

/** Every field error of an HPA's spec. */
function validateHpa(hpa: HorizontalPodAutoscaler): FieldError[] {
  const spec = specOf(hpa);
  const errs: FieldError[] = [];
  const ref = obj(spec.scaleTargetRef);
  if (!ref.kind) errs.push(required("spec.scaleTargetRef.kind"));
  if (!ref.name) errs.push(required("spec.scaleTargetRef.name"));
  const min = spec.minReplicas;
  if (!int(min) || min < 1) errs.push(invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
  const max = spec.maxReplicas;
  if (!int(max) || max < 1) errs.push(invalid("spec.maxReplicas", max, "must be greater than 0"));
  else if (int(min) && max < min)
    errs.push(invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
  for (const [i, m] of list(spec.metrics).entries()) errs.push(...validateMetric(m, `spec.metrics[${i}]`));
  const behavior = obj(spec.behavior);
  errs.push(...validateRules(behavior.scaleUp, "spec.behavior.scaleUp"));
  errs.push(...validateRules(behavior.scaleDown, "spec.behavior.scaleDown"));
  return errs;
}

/** One metric as kube's printer shows it: "cpu: 45%/50%", "memory: 100Mi/200Mi", "<unknown>" before a reading. */
function formatMetric(spec: MetricSpec, status: MetricStatus | undefined): string {
  const ofStatus = (s: { averageUtilization?: number; averageValue?: string; value?: string } | undefined) =>
    s;
  switch (spec.type) {
    case "Resource":
    case "ContainerResource": {
      const source = spec.type === "Resource" ? spec.resource : spec.containerResource;
      const current = ofStatus(
        spec.type === "Resource" ? status?.resource?.current : status?.containerResource?.current,
      );
      const name = source?.name ?? "";
      if (source?.target.averageValue !== undefined)
        return `${name}: ${current?.averageValue ?? "<unknown>"}/${source.target.averageValue}`;
      const now = current?.averageUtilization !== undefined ? `${current.averageUtilization}%` : "<unknown>";
      const target =
        source?.target.averageUtilization !== undefined ? `${source.target.averageUtilization}%` : "<auto>";
      return `${name}: ${now}/${target}`;
    }
    case "Pods":
      return `${status?.pods?.current.averageValue ?? "<unknown>"}/${spec.pods?.target.averageValue ?? ""}`;
    case "Object": {
      const t = spec.object?.target;
      const c = status?.object?.current;
      return t?.averageValue !== undefined
        ? `${c?.averageValue ?? "<unknown>"}/${t.averageValue} (avg)`
        : `${c?.value ?? "<unknown>"}/${t?.value ?? ""}`;
    }
    case "External": {
      const t = spec.external?.target;
      const c = status?.external?.current;
      return t?.averageValue !== undefined
        ? `${c?.averageValue ?? "<unknown>"}/${t.averageValue} (avg)`
        : `${c?.value ?? "<unknown>"}/${t?.value ?? ""}`;
    }
    default:
      return "<unknown type>";
  }
}

/** The TARGETS cell: up to three metrics, then " + N more...". */
export function formatTargets(hpa: HorizontalPodAutoscaler): string {
  const metrics = hpa.spec?.metrics ?? [];
  if (metrics.length === 0) return "<none>";
  const statuses = hpa.status?.currentMetrics ?? [];
  const shown = metrics.slice(0, 3).map((m, i) => formatMetric(m, statuses[i]));
  const more = metrics.length > 3 ? ` + ${metrics.length - 3} more...` : "";
  return shown.join(", ") + more;
}

/** The HorizontalPodAutoscaler strategy. */
export const hpaStrategy: Strategy<HorizontalPodAutoscaler> = {
  defaults(hpa) {
    const spec = specOf(hpa);
    setDefault(spec, "minReplicas", 1);
    // kube's v2 default: a CPU 80 % utilization target when no metric is given.
    if (!Array.isArray(spec.metrics) || spec.metrics.length === 0)
      spec.metrics = [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ];
  },
  ...split,
  validate: (hpa) => validateHpa(hpa),
  specChanged: specDiffers,
  columns: [
    col("Reference", "The scale target: kind/name"),
    col("Targets", "Current and target value of each metric"),
    col("MinPods", "spec.minReplicas", { type: "integer" }),
    col("MaxPods", "spec.maxReplicas", { type: "integer" }),
    col("Replicas", "status.currentReplicas", { type: "integer" }),
    AGE,
  ],
  row: (hpa, now) => [
    `${hpa.spec?.scaleTargetRef.kind}/${hpa.spec?.scaleTargetRef.name}`,
    formatTargets(hpa),
    hpa.spec?.minReplicas ?? 1,
    hpa.spec?.maxReplicas,
    hpa.status?.currentReplicas ?? 0,
    age(hpa, now),
  ],
};
