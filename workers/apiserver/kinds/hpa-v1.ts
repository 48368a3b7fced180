/**
 * autoscaling/v1 HorizontalPodAutoscaler, served from the same stored objects
 * as v2 (the storage version) and converted both ways as kube converts
 * (pkg/apis/autoscaling/v1/conversion.go): targetCPUUtilizationPercentage is
 * v2's Resource cpu Utilization metric; whatever v1 cannot say (other
 * metrics, behavior, conditions) rides in autoscaling.alpha.kubernetes.io/*
 * annotations so a v1 round trip loses nothing. kubectl ≤ 1.32 `autoscale`
 * creates v1 objects.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { HorizontalPodAutoscaler, MetricSpec } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { hpaStrategy } from "./hpa.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { invalid, required } from "./validation/errors.ts";

const METRICS = "autoscaling.alpha.kubernetes.io/metrics";
const BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior";
const CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions";
const CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics";

type Obj = Record<string, unknown>;

function isCpuUtilization(m: MetricSpec): boolean {
  return m.type === "Resource" && m.resource?.name === "cpu" && m.resource.target.type === "Utilization";
}

function parse(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A stored (v2) HPA as autoscaling/v1. */
export function toV1(stored: KubeObject): KubeObject {
  const v2 = stored as HorizontalPodAutoscaler & KubeObject;
  const annotations: Record<string, string> = { ...v2.metadata?.annotations };
  const metrics = v2.spec?.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) annotations[METRICS] = JSON.stringify(others);
  if (v2.spec?.behavior) annotations[BEHAVIOR] = JSON.stringify(v2.spec.behavior);
  if (v2.status?.conditions?.length) annotations[CONDITIONS] = JSON.stringify(v2.status.conditions);
  const currentCpu = v2.status?.currentMetrics?.find(
    (m) => m.type === "Resource" && m.resource?.name === "cpu",
  );
  const otherCurrent = (v2.status?.currentMetrics ?? []).filter((m) => m !== currentCpu);
  if (otherCurrent.length) annotations[CURRENT_METRICS] = JSON.stringify(otherCurrent);
  const spec: Obj = { ...v2.spec };
  delete spec.metrics;
  delete spec.behavior;
  if (cpu) spec.targetCPUUtilizationPercentage = cpu.resource?.target.averageUtilization;
  const out: Obj = {
    ...v2,
    apiVersion: "autoscaling/v1",
    metadata: { ...v2.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec,
  };
  if (v2.status) {
    const status: Obj = { ...v2.status };
    delete status.conditions;
    delete status.currentMetrics;
    const utilization = currentCpu?.resource?.current.averageUtilization;
    if (utilization !== undefined) status.currentCPUUtilizationPercentage = utilization;
    out.status = status;
  }
  return out as KubeObject;
}

/** An autoscaling/v1 HPA in the stored (v2) form. */
export function fromV1(v1: KubeObject): KubeObject {
  const annotations: Record<string, string> = { ...v1.metadata?.annotations };
  const others = (parse(annotations[METRICS]) as MetricSpec[] | undefined) ?? [];
  const behavior = parse(annotations[BEHAVIOR]);
  const conditions = parse(annotations[CONDITIONS]);
  const currentMetrics = (parse(annotations[CURRENT_METRICS]) as unknown[] | undefined) ?? [];
  for (const key of [METRICS, BEHAVIOR, CONDITIONS, CURRENT_METRICS]) delete annotations[key];
  const spec: Obj = { ...obj((v1 as { spec?: unknown }).spec) };
  const target = spec.targetCPUUtilizationPercentage;
  delete spec.targetCPUUtilizationPercentage;
  const metrics: unknown[] = [];
  if (target !== undefined)
    metrics.push({
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: target } },
    });
  metrics.push(...others);
  // No target: v2's default applies, as kube's storage (v2) defaulting does: cpu at 80 %.
  spec.metrics = metrics.length
    ? metrics
    : [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ];
  if (behavior) spec.behavior = behavior;
  const metadata: Obj = { ...v1.metadata };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;
  const out: Obj = { ...v1, apiVersion: "autoscaling/v2", metadata, spec };
  const v1Status = (v1 as { status?: Obj }).status;
  if (v1Status) {
    const status: Obj = { ...v1Status };
    const current = status.currentCPUUtilizationPercentage;
    delete status.currentCPUUtilizationPercentage;
    const all: unknown[] = [];
    if (current !== undefined)
      all.push({ type: "Resource", resource: { name: "cpu", current: { averageUtilization: current } } });
    all.push(...currentMetrics);
    if (all.length) status.currentMetrics = all;
    if (conditions) status.conditions = conditions;
    out.status = status;
  }
  return out as KubeObject;
}

/** autoscaling/v1 HPA: kube's v1 defaults and validation; printed as v2 prints it. */
export const hpaV1Strategy: Strategy<KubeObject> = {
  defaults(hpa) {
    const spec = specOf(hpa as { spec?: unknown });
    setDefault(spec, "minReplicas", 1);
    // What the stored v2 object will say (v2's default), unless other metrics ride in the annotation.
    if (!hpa.metadata?.annotations?.[METRICS]) setDefault(spec, "targetCPUUtilizationPercentage", 80);
  },
  ...statusSplit<KubeObject & { status?: unknown }>(),
  validate(hpa) {
    const spec = specOf(hpa as { spec?: unknown });
    const errs: FieldError[] = [];
    const ref = obj(spec.scaleTargetRef);
    if (!ref.kind) errs.push(required("spec.scaleTargetRef.kind"));
    if (!ref.name) errs.push(required("spec.scaleTargetRef.name"));
    const min = spec.minReplicas as number;
    const max = spec.maxReplicas as number;
    if (!Number.isInteger(min) || min < 1)
      errs.push(invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
    if (!Number.isInteger(max) || max < 1)
      errs.push(invalid("spec.maxReplicas", max, "must be greater than 0"));
    else if (Number.isInteger(min) && max < min)
      errs.push(invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
    const cpu = spec.targetCPUUtilizationPercentage;
    if (cpu !== undefined && (!Number.isInteger(cpu) || (cpu as number) < 1))
      errs.push(invalid("spec.targetCPUUtilizationPercentage", cpu, "must be greater than or equal to 1"));
    return errs;
  },
  specChanged: specDiffers,
  columns: hpaStrategy.columns,
  row: (hpa, now) => hpaStrategy.row(fromV1(hpa) as HorizontalPodAutoscaler, now),
};
