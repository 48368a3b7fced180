/**
 * kube's replica calculator for Resource metrics (pkg/controller/podautoscaler/
 * replica_calculator.go GetResourceReplicas), as a pure function: desired =
 * ceil(ratio × ready pods) where ratio = usage / target; nothing changes
 * within the tolerance; pods being deleted or failed are ignored; pending
 * and (for CPU) not-yet-ready pods count as using nothing when scaling up;
 * pods without metrics count as at target (100 %) when scaling down and as
 * using nothing when scaling up (at 100 % of their request, or the target if
 * higher, in kube ≥ 1.30); a recomputed ratio that flips direction or
 * falls within tolerance changes nothing.
 */

/** kube's --horizontal-pod-autoscaler-tolerance. */
const TOLERANCE = 0.1;
/** kube's --horizontal-pod-autoscaler-cpu-initialization-period (5 min). */
const CPU_INITIALIZATION_PERIOD_MS = 300_000;
/** kube's --horizontal-pod-autoscaler-initial-readiness-delay (30 s). */
const INITIAL_READINESS_DELAY_MS = 30_000;

/** What the calculator needs of a pod. */
export interface PodInfo {
  name: string;
  phase?: string;
  deleting?: boolean;
  /** The Ready condition (absent: none yet). */
  ready?: { status: boolean; lastTransitionTime: number };
  startTime?: number;
  /** Sum of its containers' requests of the resource (milli-units); absent: some container has none. */
  request?: number;
}

/** A pod's measured usage (milli-units) and when/over what window it was measured. */
export interface PodMetric {
  value: number;
  timestamp: number;
  windowMs: number;
}

/** The answer: replicas, and the utilization (percent of request) or average value it saw. */
export interface Recommendation {
  replicas: number;
  /** Utilization in percent of requests (Utilization targets), from the pods with metrics. */
  utilization?: number;
  /** Average usage per pod in milli-units. */
  average: number;
}

/** The calculator's error (kube: FailedGetResourceMetric / InvalidSelector reasons on ScalingActive). */
export class CalculationError extends Error {}

type Target = { utilization: number } | { averageValue: number };

function groupPods(pods: PodInfo[], metrics: Map<string, PodMetric>, cpu: boolean, now: number) {
  let ready = 0;
  const unready = new Set<string>();
  const missing = new Set<string>();
  const ignored = new Set<string>();
  for (const pod of pods) {
    if (pod.deleting || pod.phase === "Failed") {
      ignored.add(pod.name);
      continue;
    }
    if (pod.phase === "Pending") {
      unready.add(pod.name);
      continue;
    }
    const metric = metrics.get(pod.name);
    if (!metric) {
      missing.add(pod.name);
      continue;
    }
    if (cpu) {
      let isUnready: boolean;
      if (!pod.ready || pod.startTime === undefined) isUnready = true;
      else if (pod.startTime + CPU_INITIALIZATION_PERIOD_MS > now)
        // Still initializing: count it only once its metric was taken entirely after it became ready.
        isUnready = !pod.ready.status || metric.timestamp < pod.ready.lastTransitionTime + metric.windowMs;
      // Past initialization: unready only if it never became ready after starting.
      else
        isUnready =
          !pod.ready.status && pod.startTime + INITIAL_READINESS_DELAY_MS > pod.ready.lastTransitionTime;
      if (isUnready) {
        unready.add(pod.name);
        continue;
      }
    }
    ready++;
  }
  return { ready, unready, missing, ignored };
}

/** usage / target over the pods in `metrics` (utilization in percent for Utilization targets). */
function ratioOf(metrics: Map<string, number>, requests: Map<string, number>, target: Target) {
  let total = 0;
  if ("utilization" in target) {
    let requested = 0;
    for (const [name, value] of metrics) {
      const request = requests.get(name);
      if (request === undefined) continue;
      total += value;
      requested += request;
    }
    if (requested === 0) throw new CalculationError("no metrics returned matched known pods");
    const utilization = Math.trunc((total * 100) / requested);
    return { ratio: utilization / target.utilization, utilization, average: total / metrics.size };
  }
  for (const value of metrics.values()) total += value;
  const average = total / metrics.size;
  return { ratio: average / target.averageValue, average };
}

/**
 * Desired replicas for one Resource metric. `current` is the scale target's
 * spec.replicas; `pods` the pods its selector matches; `metrics` their usage
 * by pod name; `cpu` whether the resource is cpu (readiness rules apply).
 */
export function resourceReplicas(args: {
  current: number;
  pods: PodInfo[];
  metrics: Map<string, PodMetric>;
  target: Target;
  cpu: boolean;
  now: number;
  tolerance?: number;
}): Recommendation {
  const tolerance = args.tolerance ?? TOLERANCE;
  if (args.pods.length === 0)
    throw new CalculationError("no pods returned by selector while calculating replica count");
  const { ready, unready, missing, ignored } = groupPods(args.pods, args.metrics, args.cpu, args.now);
  const usage = new Map<string, number>();
  for (const [name, m] of args.metrics)
    if (!ignored.has(name) && !unready.has(name) && args.pods.some((p) => p.name === name))
      usage.set(name, m.value);
  const requests = new Map<string, number>();
  if ("utilization" in args.target)
    for (const pod of args.pods) {
      if (pod.request === undefined)
        throw new CalculationError(`missing request for ${args.cpu ? "cpu" : "resource"} in pod ${pod.name}`);
      requests.set(pod.name, pod.request);
    }
  if (usage.size === 0)
    throw new CalculationError("did not receive metrics for targeted pods (pods might be unready)");
  const first = ratioOf(usage, requests, args.target);
  const scaleUpWithUnready = unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return { ...first, replicas: args.current };
    return { ...first, replicas: Math.ceil(first.ratio * ready) };
  }
  // Scaling down: the missing pods count as using all their request (or the target if higher); scaling up: nothing.
  for (const name of missing) {
    if (first.ratio < 1) {
      const fallback =
        "utilization" in args.target
          ? Math.trunc(((requests.get(name) ?? 0) * Math.max(100, args.target.utilization)) / 100)
          : args.target.averageValue;
      usage.set(name, fallback);
    } else if (first.ratio > 1) usage.set(name, 0);
  }
  if (scaleUpWithUnready) for (const name of unready) usage.set(name, 0);
  const second = ratioOf(usage, requests, args.target);
  if (
    Math.abs(1 - second.ratio) <= tolerance ||
    (first.ratio < 1 && second.ratio > 1) ||
    (first.ratio > 1 && second.ratio < 1)
  )
    return { ...first, replicas: args.current };
  const replicas = Math.ceil(second.ratio * usage.size);
  if ((second.ratio < 1 && replicas > args.current) || (second.ratio > 1 && replicas < args.current))
    return { ...first, replicas: args.current };
  return { ...first, replicas };
}
