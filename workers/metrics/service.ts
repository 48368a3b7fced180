/**
 * `services.metrics`: the latest samples from the MetricsObject singleton
 * (durable-objects/metrics), for the metrics.k8s.io kinds, and the write side
 * the push endpoint uses.
 */
import type { MetricsObject, StoredSample } from "../../durable-objects/metrics/object.ts";
import type { MetricsService } from "../apiserver/platform.ts";

/** A sample not renewed for this long belongs to a node that stopped reporting (metrics-server forgets such nodes too). */
const MAX_SAMPLE_AGE_MS = 120_000;

/** The binding the metrics service needs. */
export interface MetricsEnv {
  /** Singleton holding each node's latest resource-metrics sample (durable-objects/metrics). */
  METRICS: DurableObjectNamespace<MetricsObject>;
}

/** The singleton's stub. */
export function metricsStub(env: MetricsEnv): DurableObjectStub<MetricsObject> {
  return env.METRICS.get(env.METRICS.idFromName("metrics"));
}

/** services.metrics bound to the MetricsObject. */
export function metricsService(env: MetricsEnv, now: () => number = Date.now): MetricsService {
  return {
    samples: async () => (await metricsStub(env).list(now() - MAX_SAMPLE_AGE_MS)) as StoredSample[],
  };
}
