/** The replica calculator against cases of kube's replica_calculator_test.go (Resource metrics). */
import { describe, expect, it } from "vitest";
import { CalculationError, type PodInfo, type PodMetric, resourceReplicas } from "./replicas.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const COLD = NOW - 10 * 60_000;
/** Started within the CPU initialization period, ready a moment ago: its metric window began before that. */
const HOT = NOW - 60_000;

interface Case {
  name: string;
  current: number;
  expected: number;
  /** Millicores used per pod (undefined: no metric). */
  levels: (number | undefined)[];
  requests?: number[];
  target: number;
  utilization?: number;
  ready?: boolean[];
  phase?: string[];
  deleting?: boolean[];
  start?: number[];
  pods?: number;
}

function run(c: Case) {
  const n = c.pods ?? c.levels.length;
  const pods: PodInfo[] = [];
  const metrics = new Map<string, PodMetric>();
  for (let i = 0; i < n; i++) {
    const start = c.start?.[i] ?? COLD;
    pods.push({
      name: `p${i}`,
      phase: c.phase?.[i] ?? "Running",
      deleting: c.deleting?.[i],
      startTime: start,
      ready: { status: c.ready?.[i] ?? true, lastTransitionTime: start === HOT ? NOW - 10_000 : start },
      request: c.requests?.[i] ?? 1000,
    });
    const level = c.levels[i];
    if (level !== undefined) metrics.set(`p${i}`, { value: level, timestamp: NOW, windowMs: 60_000 });
  }
  return resourceReplicas({
    current: c.current,
    pods,
    metrics,
    target: { utilization: c.target },
    cpu: true,
    now: NOW,
  });
}

const CASES: Case[] = [
  { name: "ScaleUp", current: 3, expected: 5, levels: [300, 500, 700], target: 30, utilization: 50 },
  {
    name: "ScaleUpUnreadyLessScale",
    current: 3,
    expected: 4,
    levels: [300, 500, 700],
    ready: [false, true, true],
    target: 30,
    utilization: 60,
  },
  {
    name: "ScaleUpHotCpuLessScale",
    current: 3,
    expected: 4,
    levels: [300, 500, 700],
    start: [HOT, COLD, COLD],
    target: 30,
    utilization: 60,
  },
  {
    name: "ScaleUpUnreadyNoScale",
    current: 3,
    expected: 3,
    levels: [400, 500, 700],
    ready: [true, false, false],
    target: 30,
    utilization: 40,
  },
  {
    name: "ScaleUpIgnoresFailedPods",
    current: 2,
    expected: 4,
    levels: [500, 700, undefined, undefined],
    phase: ["Running", "Running", "Failed", "Failed"],
    target: 30,
    utilization: 60,
  },
  {
    name: "ScaleUpIgnoresDeletionPods",
    current: 2,
    expected: 4,
    levels: [500, 700, undefined, undefined],
    deleting: [false, false, true, true],
    target: 30,
    utilization: 60,
  },
  {
    name: "ScaleDown",
    current: 5,
    expected: 3,
    levels: [100, 300, 500, 250, 250],
    target: 50,
    utilization: 28,
  },
  {
    name: "ScaleDownIgnoresUnreadyPods",
    current: 5,
    expected: 2,
    levels: [100, 300, 500, 250, 250],
    ready: [true, true, true, false, false],
    target: 50,
    utilization: 30,
  },
  {
    name: "Tolerance",
    current: 3,
    expected: 3,
    levels: [1010, 1030, 1020],
    requests: [900, 1000, 1100],
    target: 100,
    utilization: 102,
  },
  {
    name: "MissingMetricsNoChangeEq",
    current: 2,
    expected: 2,
    levels: [1000, undefined],
    target: 100,
    utilization: 100,
  },
  {
    name: "MissingMetricsNoChangeGt",
    current: 2,
    expected: 2,
    levels: [1900, undefined],
    target: 100,
    utilization: 190,
  },
  {
    name: "MissingMetricsNoChangeLt",
    current: 2,
    expected: 2,
    levels: [600, undefined],
    target: 100,
    utilization: 60,
  },
  {
    name: "MissingMetricsUnreadyScaleDown",
    current: 4,
    expected: 3,
    levels: [100, 100, 100, undefined],
    ready: [true, true, true, false],
    target: 50,
    utilization: 10,
  },
  // Not from kube's table: a target over 100 % counts the missing pod at the target, (400 + 3000) / 5000 = 68 %.
  {
    name: "MissingMetricsScaleDownTargetOver100",
    current: 4,
    expected: 1,
    levels: [200, 100, 100, undefined],
    requests: [2000, 1000, 1000, 1000],
    target: 300,
    utilization: 10,
  },
];

describe("resourceReplicas (kube's replica calculator, CPU utilization)", () => {
  for (const c of CASES)
    it(c.name, () => {
      const r = run(c);
      expect(r.replicas).toBe(c.expected);
      if (c.utilization !== undefined) expect(r.utilization).toBe(c.utilization);
    });

  it("fails without pods, without metrics, or when a pod has no request", () => {
    expect(() => run({ name: "", current: 1, expected: 0, levels: [], target: 50 })).toThrow(
      CalculationError,
    );
    expect(() =>
      run({ name: "", current: 2, expected: 0, levels: [100, 100], ready: [false, false], target: 50 }),
    ).toThrow(/did not receive metrics/);
    expect(() =>
      resourceReplicas({
        current: 1,
        pods: [
          {
            name: "p0",
            phase: "Running",
            startTime: COLD,
            ready: { status: true, lastTransitionTime: COLD },
          },
        ],
        metrics: new Map([["p0", { value: 1, timestamp: NOW, windowMs: 1 }]]),
        target: { utilization: 50 },
        cpu: true,
        now: NOW,
      }),
    ).toThrow(/missing request/);
  });

  it("scales on an average value target without requests", () => {
    const pods: PodInfo[] = [0, 1].map((i) => ({ name: `p${i}`, phase: "Running" }));
    const metrics = new Map<string, PodMetric>([
      ["p0", { value: 300, timestamp: NOW, windowMs: 1 }],
      ["p1", { value: 500, timestamp: NOW, windowMs: 1 }],
    ]);
    const r = resourceReplicas({
      current: 2,
      pods,
      metrics,
      target: { averageValue: 200 },
      cpu: false,
      now: NOW,
    });
    expect(r).toEqual({ replicas: 4, average: 400, ratio: 2 });
  });
});
