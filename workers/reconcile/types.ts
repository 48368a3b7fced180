/**
 * The shape every controller (and the scheduler) has: a pure reconcile over
 * the Kubernetes API, after client-go's sample-controller. The manager
 * (manager.ts / loop.ts) only lists keys and loops, isolating failures.
 */
import type { KubeClient, KubeObject, ResourceRef } from "../client/kube.ts";
import type { Expectations } from "./expectations.ts";

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
  /** Node IPAM: the cluster's pod network, cut into one block per node (kube: --cluster-cidr). */
  clusterCIDR: string;
  /** Node IPAM: prefix length of each node's block (kube: --node-cidr-mask-size, 24). */
  nodeCIDRMaskSize: number;
  /** Root-CA publisher: PEM of the CA pods use to verify the API (CLUSTER_CA_CERT; kube: --root-ca-file). */
  rootCACert?: string;
  /** Tokens controller: signs a legacy ServiceAccount token's claims; absent when no signing key is configured. */
  signToken?: (claims: Record<string, unknown>) => Promise<string>;
  /** The Service ClusterIP range (kube: --service-cluster-ip-range): the built-in Services sit at its 1st and 10th IPs. */
  serviceClusterIPRange: string;
  /** How often each HPA is evaluated (kube: --horizontal-pod-autoscaler-sync-period, 15 s). */
  hpaSyncPeriodSeconds: number;
  /** Ingress status: the address (IP or hostname) Ingresses of the edgeplane class show (INGRESS_ADDRESS). */
  ingressAddress?: string;
}

/** Kubernetes' defaults. */
export const defaultConfig: ControllerConfig = {
  nodeMonitorGracePeriodSeconds: 40,
  podEvictionTimeoutSeconds: 300,
  bindConcurrency: 128,
  writeConcurrency: 16,
  clusterCIDR: "10.244.0.0/16",
  nodeCIDRMaskSize: 24,
  serviceClusterIPRange: "10.96.0.0/16",
  hpaSyncPeriodSeconds: 15,
};

/**
 * Where controllers read objects from: never a per-key API call. The manager
 * passes its watch-fed informers (informer.ts); unit tests a per-pass Snapshot.
 */
export interface ObjectCache {
  /** Every object of a resource, all namespaces (shared: clone before mutating). */
  list<T extends KubeObject = KubeObject>(ref: ResourceRef): Promise<T[]>;
  get<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined>;
  /** One of our writes succeeded with this answer: later reads must see it. */
  wrote(ref: ResourceRef, result: unknown, deleted: boolean): void;
  /** The server accepted a change it does not answer with (a binding): read it as done until the watch shows it. */
  assume(ref: ResourceRef, object: KubeObject): void;
}

/** What a reconcile gets: every dependency is passed in. */
export interface Deps {
  client: KubeClient;
  /** Cached lists that reflect our own writes (never relist per key). */
  cache: ObjectCache;
  now: () => Date;
  recorder: Recorder;
  config: ControllerConfig;
  /** Pod creations/deletions in flight per owner UID: while unsatisfied, do not create or delete again. */
  expectations: Expectations;
}

/** What a reconcile may ask for besides success: run this key again after a delay (deadlines, timers). */
export interface Result {
  requeueAfterMs?: number;
}

/** A change an informer saw (or our own write applied to it), with the object after and, if cached, before. */
export interface ObjectEvent {
  /** "group/resource" of the object. */
  resource: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  old?: KubeObject;
}

/** The key that stands for "every key of this controller" (expanded by its `keys`). */
export const ALL_KEYS = "\u0000all";

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
  /**
   * The keys an event of a watched resource affects (its own objects by key, owned objects by their
   * controller ownerReference, ...); may include ALL_KEYS. Absent: every key.
   */
  keysFor?(event: ObjectEvent): string[];
  /** Bring one key to its desired state. Not-found is success; throw on transient errors (retried). */
  reconcile(key: string, deps: Deps): Promise<Result | undefined>;
}

/** "group/resource" for a ResourceRef: the name wake-ups and watches use. */
export function resourceId(ref: Pick<ResourceRef, "group" | "resource">): string {
  return `${ref.group}/${ref.resource}`;
}
