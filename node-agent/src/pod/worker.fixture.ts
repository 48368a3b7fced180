/**
 * Shared set-up for the pod worker tests: a FakeClock, a FakeRuntime, the
 * statuses written and pods released, scripted probe results, and PodDeps
 * wired to them. resetFixture() runs before each test.
 */
import { FakeClock } from "../clock.ts";
import { FakeRuntime } from "../testing/fake-runtime.ts";
import { Backoff } from "./backoff.ts";
import type { PodDeps } from "./context.ts";
import type { Pod, PodSpec, PodStatus, Probe } from "./k8s.ts";

/** What a test observes and steers. */
export interface WorkerFixture {
  clock: FakeClock;
  runtime: FakeRuntime;
  /** Every status written, in order. */
  statuses: PodStatus[];
  /** UIDs of released pods. */
  released: string[];
  /** Per probe (httpGet path or tcpSocket port): results to return in turn; the last one repeats. */
  probeResults: Map<string, boolean[]>;
}

/** The current test's fixture (replaced by resetFixture). */
export const fx = {} as WorkerFixture;

/** Fresh clock, runtime and records for the next test. */
export function resetFixture(): void {
  fx.clock = new FakeClock();
  fx.runtime = new FakeRuntime(fx.clock);
  fx.statuses = [];
  fx.released = [];
  fx.probeResults = new Map();
}

/** A pod bound to node n1 with one container "app" unless spec says otherwise. */
export function pod(spec: Partial<PodSpec> = {}, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "uid-1", resourceVersion: "1" },
    spec: { nodeName: "n1", containers: [{ name: "app", image: "reg/app:v1" }], ...spec },
    ...extra,
  };
}

/** PodDeps over the fixture: real Backoff, 1 s sync period. */
export function deps(): PodDeps {
  return {
    runtimeFor: async () => fx.runtime,
    clock: fx.clock,
    nodeName: "n1",
    hostIP: "192.0.2.1",
    podDir: (p) => `/data/pods/${p.metadata.uid}`,
    prepare: async () => ({ mounts: () => [], env: () => ({}) }),
    writeStatus: async (_pod, status) => {
      fx.statuses.push(structuredClone(status));
    },
    release: async (p) => {
      fx.released.push(p.metadata.uid ?? "");
    },
    probe: async (probe: Probe) => {
      const key = probe.httpGet?.path ?? String(probe.tcpSocket?.port);
      const results = fx.probeResults.get(key) ?? [];
      return results.length > 1 ? (results.shift() as boolean) : (results[0] ?? true);
    },
    crashBackoff: new Backoff(10_000, 300_000),
    pullBackoff: new Backoff(10_000, 300_000),
    syncPeriodMs: 1000,
  };
}

/** The last status written. */
export const last = () => fx.statuses[fx.statuses.length - 1];
/** The "app" container's status. */
export const app = (s: PodStatus | undefined = last()) => s?.containerStatuses?.find((c) => c.name === "app");
/** A pod condition's status ("True"/"False"). */
export const cond = (type: string, s: PodStatus | undefined = last()) =>
  s?.conditions?.find((c) => c.type === type)?.status;

/** The pod as the API server shows it once deleted with a grace period. */
export function deleted(p: Pod, grace = 30): Pod {
  return {
    ...p,
    metadata: {
      ...p.metadata,
      deletionTimestamp: fx.clock.now().toISOString(),
      deletionGracePeriodSeconds: grace,
    },
  };
}
