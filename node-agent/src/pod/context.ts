/**
 * What one pod's state machine works on: the pod as last seen, what the
 * agent knows about each of its containers, and the dependencies it is
 * given (runtime, clock, status writer, ...). No module globals: tests pass
 * a fake runtime and a FakeClock.
 */

import type { Clock } from "../clock.ts";
import type { EventSink } from "../events/recorder.ts";
import type { Mount, PullOptions, Runtime } from "../runtime/types.ts";
import type { Backoff } from "./backoff.ts";
import type { Container, ContainerStateJson, Pod, PodStatus, Probe } from "./k8s.ts";
import type { ContainerProber, ProbeTarget } from "./probes.ts";

/** The node's cluster DNS settings (kubelet's --cluster-dns / --cluster-domain) and the host's resolv.conf. */
export interface ClusterDns {
  /** Nameservers for ClusterFirst pods (the kube-dns Service IP); empty: pods fall back to Default. */
  servers: string[];
  /** The cluster domain, "cluster.local". */
  domain: string;
  /** The host's own resolv.conf, for dnsPolicy Default and the host search list. */
  host: { servers: string[]; searches: string[]; options: string[] };
}

/** Volumes and environment resolved for a pod (configMaps, secrets, downward API). */
export interface PreparedPod {
  mounts(container: Container): Mount[];
  env(container: Container): Record<string, string>;
}

/** Everything a pod worker needs from the outside world. */
export interface PodDeps {
  /** The runtime serving this pod (from its RuntimeClass handler). Throws when none fits. */
  runtimeFor(pod: Pod): Promise<Runtime>;
  clock: Clock;
  nodeName: string;
  hostIP: string;
  /** Per-pod directory (volumes, logs): <dataDir>/pods/<uid>. */
  podDir(pod: Pod): string;
  /** Materialise volumes and resolve env; throws ConfigError for a missing ConfigMap/Secret key. */
  prepare(pod: Pod, podIP: string): Promise<PreparedPod>;
  /** Cluster DNS for pods' resolv.conf (dnsPolicy ClusterFirst); absent: only dnsPolicy None is applied. */
  clusterDns?: ClusterDns;
  /** Registry credentials for a pod's image (imagePullSecrets). */
  pullAuth?(pod: Pod, image: string): Promise<PullOptions["auth"]>;
  /** Write status (pods/status). */
  writeStatus(pod: Pod, status: PodStatus): Promise<void>;
  /** Finish deletion: DELETE with gracePeriodSeconds=0 and a uid precondition. */
  release(pod: Pod): Promise<void>;
  /** Run one probe attempt; true = success. Must respect probe.timeoutSeconds itself. */
  probe(probe: Probe, target: ProbeTarget): Promise<boolean>;
  crashBackoff: Backoff;
  pullBackoff: Backoff;
  /** How often a running pod's containers are checked (ms); kubelet's PLEG relists every 1 s. */
  syncPeriodMs?: number;
  log?(message: string): void;
  /** The pod ran for the first time, `seconds` after the worker first saw it (kubelet_pod_start_duration_seconds). */
  podStarted?(seconds: number): void;
  /** Kubelet's events (Pulling, Started, BackOff, ...); absent: none are recorded. */
  events?: EventSink;
}

/** A missing ConfigMap/Secret or key: the container waits with CreateContainerConfigError. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The agent's view of one container of the pod. */
export interface ContainerRecord {
  spec: Container;
  init: boolean;
  /** Runtime container id of the current (or last) instance. */
  id?: string;
  restartCount: number;
  state: ContainerStateJson;
  lastState: ContainerStateJson;
  ready: boolean;
  started: boolean;
  imageID: string;
  pulled: boolean;
  /** Init container completed, or main container finished for good. */
  done: boolean;
  /** Should be (re)started once restartAt (ms) has passed. */
  needsStart: boolean;
  restartAt?: number;
  /** When the last instance failed (ms): the crash back-off is measured from it. */
  failedAt?: number;
  prober?: ContainerProber;
  /** Set by the prober: liveness/startup failed, container is being killed. */
  killing?: string;
}

/** The mutable per-pod state the state units share. */
export interface PodContext {
  pod: Pod;
  deps: PodDeps;
  runtime: Runtime;
  sandboxId?: string;
  podIP?: string;
  startTime: string;
  inits: ContainerRecord[];
  mains: ContainerRecord[];
  /** Terminal phase once the pod finished (restartPolicy allowed it to). */
  finalPhase?: "Succeeded" | "Failed";
  /** Resolves sleeps early when the pod object changes or a prober reports. */
  wake: AbortController;
  /** Sleep up to `ms`, returning early on wake(). */
  sleep(ms: number): Promise<void>;
  /** Wake the worker (pod update, probe result). */
  poke(): void;
  /** Push status if it changed since the last write. */
  report(): Promise<void>;
}

/** True once the API server has marked the pod for deletion. */
export function deleting(ctx: PodContext): boolean {
  return Boolean(ctx.pod.metadata.deletionTimestamp);
}

/** containerID as kubelets print it: "<runtime>://<id>". */
export function containerUri(ctx: PodContext, id = ""): string {
  return `${ctx.runtime.handler === "wasm" ? "wasm" : "containerd"}://${id}`;
}
