/**
 * The shape every controller (and the scheduler) has: a pure reconcile over
 * the Kubernetes API, after client-go's sample-controller. The manager
 * (manager.ts / loop.ts) only lists keys and loops, isolating failures.
 */
import type { KubeClient, KubeObject, ResourceRef } from "../client/kube.ts";
import type { Snapshot } from "./snapshot.ts";

/** Records Kubernetes Events about an object (best effort: failures never fail a reconcile). */
export interface Recorder {
  event(object: KubeObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

/** Tunables; every field has a Kubernetes-like default (see defaultConfig). */
export interface ControllerConfig {
  /** Node lifecycle: a Lease not renewed for this long makes the node Ready=Unknown (kube: 40 s). */
  nodeMonitorGracePeriodSeconds: number;
  /** Node lifecycle: default toleration of pods for not-ready/unreachable taints (kube: 300 s). */
  podEvictionTimeoutSeconds: number;
  /** How many bindings the scheduler sends at once. */
  bindConcurrency: number;
  /** How many pod creations/deletions a workload controller sends at once. */
  writeConcurrency: number;
}

/** Kubernetes' defaults. */
export const defaultConfig: ControllerConfig = {
  nodeMonitorGracePeriodSeconds: 40,
  podEvictionTimeoutSeconds: 300,
  bindConcurrency: 32,
  writeConcurrency: 16,
};

/** What a reconcile gets: every dependency is passed in. */
export interface Deps {
  client: KubeClient;
  /** Lists, memoised for one pass and invalidated by this pass's own writes (never relist per key). */
  cache: Snapshot;
  now: () => Date;
  recorder: Recorder;
  config: ControllerConfig;
}

/** What a reconcile may ask for besides success: run this key again after a delay (deadlines, timers). */
export interface Result {
  requeueAfterMs?: number;
}

/** One controller: which resources wake it, which keys a pass covers, and the reconcile itself. */
export interface Controller {
  name: string;
  /**
   * Resources ("group/resource", core group as "/pods") whose writes should run this controller;
   * "group/resource:DELETED" means only deletions of that resource.
   */
  watches: string[];
  /** The keys to reconcile in a pass (usually every object of the primary resource). */
  keys(deps: Deps): Promise<string[]>;
  /** Bring one key to its desired state. Not-found is success; throw on transient errors (retried). */
  reconcile(key: string, deps: Deps): Promise<Result | undefined>;
}

/** "group/resource" for a ResourceRef: the name wake-ups and watches use. */
export function resourceId(ref: Pick<ResourceRef, "group" | "resource">): string {
  return `${ref.group}/${ref.resource}`;
}
