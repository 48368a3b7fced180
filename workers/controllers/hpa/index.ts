/**
 * HorizontalPodAutoscaler controller (kube's pkg/controller/podautoscaler,
 * Resource and ContainerResource metrics): read the target's scale
 * subresource, compute each metric's replicas from PodMetrics
 * (replicas.ts), take the largest, stabilize and rate-limit it (behavior.ts),
 * write the new size through the scale subresource, and publish status with
 * kube's conditions (AbleToScale, ScalingActive, ScalingLimited) and Events.
 * Runs every sync period per HPA. The recommendation history and scale
 * events live in memory, as in kube's controller (a restart forgets them).
 */
import type { KubeObject, ResourceRef } from "../../client/kube.ts";
import type { HorizontalPodAutoscaler, MetricSpec, MetricStatus } from "../../client/types.ts";
import { keyOf, setCondition, splitKey, timestamp } from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { type Behavior, normalize, type Timed } from "./behavior.ts";
import { CalculationError, resourceReplicas } from "./replicas.ts";
import { podInfo, podMetrics, podsOf, resourceFor, type Scale } from "./target.ts";

/** autoscaling/v2 horizontalpodautoscalers. */
export const HPA: ResourceRef = {
  group: "autoscaling",
  version: "v2",
  resource: "horizontalpodautoscalers",
  namespaced: true,
};

type Hpa = HorizontalPodAutoscaler & KubeObject;
type Condition = NonNullable<NonNullable<HorizontalPodAutoscaler["status"]>["conditions"]>[number];

/** Per HPA: recent recommendations (stabilization) and scale events (rate policies). */
interface Memory {
  recommendations: Timed[];
  scaleUps: Timed[];
  scaleDowns: Timed[];
}

/** The longest any window or policy period may be (validation's bounds): older entries are dropped. */
const KEEP_MS = 3600_000;

/** One metric's outcome. */
interface MetricResult {
  replicas: number;
  status: MetricStatus;
  description: string;
}

async function computeMetric(
  metric: MetricSpec,
  current: number,
  namespace: string,
  selector: string,
  deps: Deps,
): Promise<MetricResult> {
  const source =
    metric.type === "Resource"
      ? metric.resource
      : metric.type === "ContainerResource"
        ? metric.containerResource
        : undefined;
  if (!source)
    throw new CalculationError(
      `metric type ${metric.type} is not supported (only Resource and ContainerResource)`,
    );
  const container = metric.type === "ContainerResource" ? metric.containerResource?.container : undefined;
  const pods = await podsOf(deps.client, namespace, selector);
  const metrics = await podMetrics(deps.client, namespace, selector, source.name, container);
  const target =
    source.target.type === "Utilization"
      ? { utilization: source.target.averageUtilization ?? 0 }
      : { averageValue: Math.round(parseMilli(source.target.averageValue)) };
  const r = resourceReplicas({
    current,
    pods: pods.map((p) => podInfo(p, source.name, container)),
    metrics,
    target,
    cpu: source.name === "cpu",
    now: deps.now().getTime(),
  });
  const value = {
    averageValue: `${Math.round(r.average)}m`,
    ...(r.utilization !== undefined ? { averageUtilization: r.utilization } : {}),
  };
  const status: MetricStatus =
    metric.type === "Resource"
      ? { type: "Resource", resource: { name: source.name, current: value } }
      : {
          type: "ContainerResource",
          containerResource: { name: source.name, container: container ?? "", current: value },
        };
  const description =
    source.target.type === "Utilization"
      ? `${source.name} resource utilization (percentage of request)`
      : `${source.name} resource`;
  return { replicas: r.replicas, status, description };
}

function parseMilli(quantity: string | number | undefined): number {
  const text = String(quantity ?? "0");
  const m = /^([0-9.]+)(m|k|Ki|Mi|Gi)?$/.exec(text);
  if (!m) return 0;
  const scale: Record<string, number> = {
    "": 1000,
    m: 1,
    k: 1e6,
    Ki: 1024e3,
    Mi: 1024 ** 2 * 1e3,
    Gi: 1024 ** 3 * 1e3,
  };
  return Number(m[1]) * scale[m[2] ?? ""];
}

/** The controller, with its own memory (one per manager). */
export function createHpaController(memory = new Map<string, Memory>()): Controller {
  async function reconcile(key: string, deps: Deps): Promise<Result | undefined> {
    const { namespace = "default", name } = splitKey(key);
    const cached = await deps.cache.get<Hpa>(HPA, namespace, name);
    if (!cached) {
      memory.delete(key);
      return undefined;
    }
    const hpa = structuredClone(cached) as Hpa & { apiVersion: string; kind: string };
    hpa.apiVersion = "autoscaling/v2";
    hpa.kind = "HorizontalPodAutoscaler";
    const spec = hpa.spec!;
    const now = deps.now();
    const requeue = { requeueAfterMs: deps.config.hpaSyncPeriodSeconds * 1000 };
    let conditions = hpa.status?.conditions ?? [];
    const set = (type: string, status: boolean, reason: string, message: string) => {
      conditions = setCondition<Condition>(
        conditions,
        { type, status: status ? "True" : "False", reason, message },
        now,
      );
    };
    const writeStatus = async (status: Partial<NonNullable<Hpa["status"]>>) => {
      const next = {
        ...hpa.status,
        ...status,
        desiredReplicas: status.desiredReplicas ?? hpa.status?.desiredReplicas ?? 0,
        observedGeneration: hpa.metadata?.generation,
        conditions,
      };
      if (JSON.stringify(next) === JSON.stringify(hpa.status)) return;
      await deps.client.update(HPA, namespace, { ...hpa, status: next } as KubeObject, {
        subresource: "status",
      });
    };

    const ref = spec.scaleTargetRef;
    const resource = await resourceFor(deps.client, ref.apiVersion ?? "", ref.kind).catch(() => undefined);
    let scale: Scale | undefined;
    if (resource)
      scale = await deps.client.get<Scale>(resource, namespace, ref.name, "scale").catch(() => undefined);
    if (!resource || !scale) {
      const message = `the HPA controller was unable to get the target's current scale: ${ref.kind}/${ref.name} not found or has no scale subresource`;
      set("AbleToScale", false, "FailedGetScale", message);
      await deps.recorder.event(hpa, "Warning", "FailedGetScale", message);
      await writeStatus({});
      return requeue;
    }
    set(
      "AbleToScale",
      true,
      "SucceededGetScale",
      "the HPA controller was able to get the target's current scale",
    );
    const current = scale.spec?.replicas ?? 0;
    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas;
    const state = memory.get(key) ?? { recommendations: [], scaleUps: [], scaleDowns: [] };
    memory.set(key, state);
    const cutoff = now.getTime() - KEEP_MS;
    for (const list of [state.recommendations, state.scaleUps, state.scaleDowns])
      list.splice(0, list.length, ...list.filter((t) => t.at > cutoff));

    let desired = current;
    let reason = "";
    let currentMetrics = hpa.status?.currentMetrics;
    if (current === 0 && min !== 0) {
      set(
        "ScalingActive",
        false,
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero",
      );
    } else if (current > max) {
      desired = max;
      reason = "Current number of replicas above Spec.MaxReplicas";
      set(
        "ScalingLimited",
        true,
        "TooManyReplicas",
        "the desired replica count is more than the maximum replica count",
      );
    } else if (current < min) {
      desired = min;
      reason = "Current number of replicas below Spec.MinReplicas";
      set(
        "ScalingLimited",
        true,
        "TooFewReplicas",
        "the desired replica count is less than the minimum replica count",
      );
    } else {
      const selector = scale.status?.selector;
      const results: MetricResult[] = [];
      let failure: string | undefined;
      for (const metric of spec.metrics ?? []) {
        try {
          if (!selector) throw new CalculationError("the target's scale has no selector");
          results.push(await computeMetric(metric, current, namespace, selector, deps));
        } catch (error) {
          failure = error instanceof Error ? error.message : String(error);
        }
      }
      if (results.length === 0) {
        const message = `the HPA was unable to compute the replica count: ${failure ?? "no metrics"}`;
        set("ScalingActive", false, "FailedGetResourceMetric", message);
        await deps.recorder.event(hpa, "Warning", "FailedGetResourceMetric", message);
        await writeStatus({ currentReplicas: current, desiredReplicas: current });
        return requeue;
      }
      // Several metrics: the largest recommendation wins.
      const best = results.reduce((a, b) => (b.replicas > a.replicas ? b : a));
      currentMetrics = results.map((r) => r.status);
      set(
        "ScalingActive",
        true,
        "ValidMetricFound",
        `the HPA was able to successfully calculate a replica count from ${best.description}`,
      );
      const normalized = normalize({
        current,
        desired: best.replicas,
        min,
        max,
        behavior: spec.behavior as Behavior | undefined,
        history: state.recommendations,
        scaleUpEvents: state.scaleUps,
        scaleDownEvents: state.scaleDowns,
        now: now.getTime(),
      });
      state.recommendations.push({ at: now.getTime(), replicas: best.replicas });
      desired = normalized.replicas;
      if (normalized.limited)
        set("ScalingLimited", true, normalized.limited.reason, normalized.limited.message);
      else
        set(
          "ScalingLimited",
          false,
          "DesiredWithinRange",
          "the desired count is within the acceptable range",
        );
      reason = desired > current ? `${best.description} above target` : "All metrics below target";
      if (desired === current && best.replicas < current)
        set(
          "AbleToScale",
          true,
          "ScaleDownStabilized",
          "recent recommendations were higher than current one, applying the highest recent recommendation",
        );
      else if (desired === current)
        set("AbleToScale", true, "ReadyForNewScale", "recommended size matches current size");
    }

    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current) {
      try {
        await deps.client.update(
          resource,
          namespace,
          { ...scale, spec: { ...scale.spec, replicas: desired } },
          { subresource: "scale" },
        );
      } catch (error) {
        const message = `the HPA controller was unable to update the target scale: ${error instanceof Error ? error.message : String(error)}`;
        set("AbleToScale", false, "FailedUpdateScale", message);
        await deps.recorder.event(
          hpa,
          "Warning",
          "FailedRescale",
          `New size: ${desired}; reason: ${reason}; error: ${message}`,
        );
        await writeStatus({ currentReplicas: current, desiredReplicas: desired, currentMetrics });
        throw error;
      }
      (desired > current ? state.scaleUps : state.scaleDowns).push({
        at: now.getTime(),
        replicas: Math.abs(desired - current),
      });
      set(
        "AbleToScale",
        true,
        "SucceededRescale",
        `the HPA controller was able to update the target scale to ${desired}`,
      );
      await deps.recorder.event(
        hpa,
        "Normal",
        "SuccessfulRescale",
        `New size: ${desired}; reason: ${reason}`,
      );
      lastScaleTime = timestamp(now);
    }
    await writeStatus({ currentReplicas: current, desiredReplicas: desired, currentMetrics, lastScaleTime });
    return requeue;
  }

  return {
    name: "horizontal-pod-autoscaler",
    watches: ["autoscaling/horizontalpodautoscalers"],
    keys: async (deps) => (await deps.cache.list(HPA)).map(keyOf),
    keysFor: (event) => [keyOf(event.object)],
    reconcile,
  };
}

/** The manager's HPA controller. */
export const hpaController = createHpaController();
