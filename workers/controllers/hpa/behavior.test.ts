/** HPA behavior: stabilization windows, rate policies, min/max (kube's normalizeDesiredReplicasWithBehaviors). */
import { describe, expect, it } from "vitest";
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, normalize, scaleDownLimit, scaleUpLimit } from "./behavior.ts";

const NOW = 1_000_000;
const base = { min: 1, max: 10, history: [], scaleUpEvents: [], scaleDownEvents: [], now: NOW };

describe("HPA behavior", () => {
  it("scales up at once by default, at most max(4 pods, 100 %) per 15 s", () => {
    expect(normalize({ ...base, current: 2, desired: 5 })).toEqual({ replicas: 5, stabilized: 5 });
    // 2 → 100 %: 4, +4 pods: 6; the larger wins.
    expect(normalize({ ...base, current: 2, desired: 9 })).toMatchObject({
      replicas: 6,
      limited: { reason: "ScaleUpLimit" },
    });
    expect(scaleUpLimit(10, [], [], DEFAULT_SCALE_UP, NOW)).toBe(20);
    // Pods added in the last 15 s count against the period.
    expect(scaleUpLimit(6, [{ at: NOW - 5_000, replicas: 4 }], [], DEFAULT_SCALE_UP, NOW)).toBe(6);
  });

  it("holds a scale-down for the 300 s window: the highest recent recommendation wins", () => {
    const history = [
      { at: NOW - 400_000, replicas: 9 },
      { at: NOW - 200_000, replicas: 6 },
      { at: NOW - 10_000, replicas: 3 },
    ];
    expect(normalize({ ...base, current: 8, desired: 2, history })).toEqual({ replicas: 6, stabilized: 6 });
    // Once the window has passed the recommendations, the scale-down goes through.
    expect(
      normalize({ ...base, current: 8, desired: 2, history: [{ at: NOW - 301_000, replicas: 8 }] }),
    ).toEqual({
      replicas: 2,
      stabilized: 2,
    });
  });

  it("honours a configured window, policies and selectPolicy", () => {
    const behavior = {
      scaleDown: {
        stabilizationWindowSeconds: 5,
        policies: [{ type: "Pods" as const, value: 1, periodSeconds: 60 }],
      },
      scaleUp: { stabilizationWindowSeconds: 30 },
    };
    // Scale-down limited to one pod per minute.
    expect(normalize({ ...base, current: 5, desired: 2, behavior })).toMatchObject({
      replicas: 4,
      limited: { reason: "ScaleDownLimit" },
    });
    // A pod removed 10 s ago uses up this minute's budget.
    expect(
      normalize({
        ...base,
        current: 4,
        desired: 2,
        behavior,
        scaleDownEvents: [{ at: NOW - 10_000, replicas: 1 }],
      }),
    ).toMatchObject({ replicas: 4 });
    // Scale-up window: the lowest recommendation of the last 30 s caps it.
    expect(
      normalize({ ...base, current: 2, desired: 6, behavior, history: [{ at: NOW - 20_000, replicas: 3 }] }),
    ).toEqual({
      replicas: 3,
      stabilized: 3,
    });
    expect(scaleDownLimit(5, [], [], { ...DEFAULT_SCALE_DOWN, selectPolicy: "Disabled" }, NOW)).toBe(5);
  });

  it("keeps within min and max and says why", () => {
    expect(normalize({ ...base, current: 3, desired: 30, max: 5 })).toMatchObject({
      replicas: 5,
      limited: { reason: "TooManyReplicas" },
    });
    expect(normalize({ ...base, current: 3, desired: 1, min: 2, history: [] })).toMatchObject({
      replicas: 2,
      limited: { reason: "TooFewReplicas" },
    });
    expect(normalize({ ...base, current: 12, desired: 12, max: 10 })).toMatchObject({ replicas: 10 });
  });
});
