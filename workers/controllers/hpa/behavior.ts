/**
 * kube's HPA behavior (horizontal.go normalizeDesiredReplicasWithBehaviors):
 * first the stabilization windows (the highest recommendation of the last
 * scaleDown window caps a scale-down, the lowest of the scaleUp window caps a
 * scale-up), then the rate policies (how many pods may be added or removed
 * per period, counting the scale events already in that period), then
 * min/max. Pure: the history and events are passed in and returned.
 */

/** autoscaling/v2 HPAScalingPolicy. */
export interface ScalingPolicy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

/** autoscaling/v2 HPAScalingRules. */
export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies?: ScalingPolicy[];
}

/** autoscaling/v2 HorizontalPodAutoscalerBehavior. */
export interface Behavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

/** A past recommendation (stabilization) or scale event (policies), in ms since the epoch. */
export interface Timed {
  at: number;
  replicas: number;
}

/** kube's defaults (SetDefaults_HorizontalPodAutoscalerBehavior). */
export const DEFAULT_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};
/** kube's default scale-down: 300 s window, 100 % per 15 s. */
export const DEFAULT_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

/** Rules with kube's defaults filled in. */
function withDefaults(
  rules: ScalingRules | undefined,
  defaults: Required<ScalingRules>,
): Required<ScalingRules> {
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? defaults.selectPolicy,
    policies: rules?.policies?.length ? rules.policies : defaults.policies,
  };
}

/** What normalize decided, and why it was limited (ScalingLimited's reason), if it was. */
export interface Normalized {
  replicas: number;
  /** The stabilized recommendation, before rate limits. */
  stabilized: number;
  limited?: { reason: string; message: string };
}

function changeIn(events: Timed[], periodSeconds: number, now: number): number {
  return events.filter((e) => e.at > now - periodSeconds * 1000).reduce((n, e) => n + e.replicas, 0);
}

/** The most replicas the scale-up rules allow now. */
export function scaleUpLimit(
  current: number,
  up: Timed[],
  down: Timed[],
  rules: Required<ScalingRules>,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const p of rules.policies) {
    const start = current - changeIn(up, p.periodSeconds, now) + changeIn(down, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** The fewest replicas the scale-down rules allow now. */
export function scaleDownLimit(
  current: number,
  up: Timed[],
  down: Timed[],
  rules: Required<ScalingRules>,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const p of rules.policies) {
    const start = current - changeIn(up, p.periodSeconds, now) + changeIn(down, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/**
 * Stabilize `desired` over `history` (recommendations, newest last; the caller
 * appends {now, desired} afterwards), then apply the rate policies and min/max.
 */
export function normalize(args: {
  current: number;
  desired: number;
  min: number;
  max: number;
  behavior?: Behavior;
  history: Timed[];
  scaleUpEvents: Timed[];
  scaleDownEvents: Timed[];
  now: number;
}): Normalized {
  const up = withDefaults(args.behavior?.scaleUp, DEFAULT_SCALE_UP);
  const down = withDefaults(args.behavior?.scaleDown, DEFAULT_SCALE_DOWN);
  let upRecommendation = args.desired;
  let downRecommendation = args.desired;
  for (const r of args.history) {
    if (r.at > args.now - up.stabilizationWindowSeconds * 1000)
      upRecommendation = Math.min(upRecommendation, r.replicas);
    if (r.at > args.now - down.stabilizationWindowSeconds * 1000)
      downRecommendation = Math.max(downRecommendation, r.replicas);
  }
  let stabilized = args.current;
  if (stabilized < upRecommendation) stabilized = upRecommendation;
  if (stabilized > downRecommendation) stabilized = downRecommendation;

  if (stabilized > args.current) {
    const limit = Math.max(
      args.current,
      scaleUpLimit(args.current, args.scaleUpEvents, args.scaleDownEvents, up, args.now),
    );
    if (args.max > limit && stabilized > limit)
      return {
        replicas: limit,
        stabilized,
        limited: {
          reason: "ScaleUpLimit",
          message: "the desired replica count is increasing faster than the maximum scale rate",
        },
      };
    if (stabilized > args.max)
      return {
        replicas: args.max,
        stabilized,
        limited: {
          reason: "TooManyReplicas",
          message: "the desired replica count is more than the maximum replica count",
        },
      };
  } else if (stabilized < args.current) {
    const limit = Math.min(
      args.current,
      scaleDownLimit(args.current, args.scaleUpEvents, args.scaleDownEvents, down, args.now),
    );
    if (args.min < limit && stabilized < limit)
      return {
        replicas: limit,
        stabilized,
        limited: {
          reason: "ScaleDownLimit",
          message: "the desired replica count is decreasing faster than the maximum scale rate",
        },
      };
    if (stabilized < args.min)
      return {
        replicas: args.min,
        stabilized,
        limited: {
          reason: "TooFewReplicas",
          message: "the desired replica count is less than the minimum replica count",
        },
      };
  } else {
    if (stabilized > args.max)
      return {
        replicas: args.max,
        stabilized,
        limited: {
          reason: "TooManyReplicas",
          message: "the desired replica count is more than the maximum replica count",
        },
      };
    if (stabilized < args.min)
      return {
        replicas: args.min,
        stabilized,
        limited: {
          reason: "TooFewReplicas",
          message: "the desired replica count is less than the minimum replica count",
        },
      };
  }
  return { replicas: stabilized, stabilized };
}
