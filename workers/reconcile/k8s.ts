/**
 * Wire-form (JSON) shapes of the Kubernetes objects the scheduler and the
 * controllers read, and their helpers. Selectors, tolerations, taints and node
 * selector terms come from the wire layer (kubernetes-types); Pod, Node and
 * PodSpec are still narrow hand-written copies with metadata and spec
 * required (moving them onto kubernetes-types, where everything is optional,
 * is the next step).
 */
import type { KubeObject, ObjectMeta, OwnerReference } from "../client/kube.ts";
import { NAME_ALPHABET } from "../client/names.ts";
import type { NodeSelectorTerm, Taint, Toleration } from "../client/types.ts";

// The wire layer's helpers, under the names the controllers import them by.
export { findCondition, setCondition } from "../client/conditions.ts";
export { selectorMatches as matchesSelector } from "../client/labels.ts";
export { randomSuffix } from "../client/names.ts";
export { timestamp } from "../client/time.ts";

// Selectors, tolerations, taints and node selector terms are the wire layer's (kubernetes-types).
export type {
  LabelSelector,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Taint,
  Toleration,
} from "../client/types.ts";

/** A container, as far as scheduling and simulation care. */
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { containerPort: number; hostPort?: number; protocol?: string; name?: string; hostIP?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  [field: string]: unknown;
}

/** A pod spec (the parts we read). */
export interface PodSpec {
  nodeName?: string;
  schedulerName?: string;
  nodeSelector?: Record<string, string>;
  runtimeClassName?: string;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  tolerations?: Toleration[];
  containers: Container[];
  initContainers?: Container[];
  overhead?: Record<string, string>;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
      preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; preference: NodeSelectorTerm }[];
    };
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** A status condition (pods, nodes, deployments, jobs share this shape). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}

/** A Pod. */
export interface Pod extends KubeObject {
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: {
    phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
    conditions?: Condition[];
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    startTime?: string;
    containerStatuses?: Record<string, unknown>[];
    nominatedNodeName?: string;
    [field: string]: unknown;
  };
}

/** A Node. */
export interface Node extends KubeObject {
  metadata: ObjectMeta;
  spec?: { unschedulable?: boolean; taints?: Taint[]; podCIDR?: string; [field: string]: unknown };
  status?: {
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    conditions?: Condition[];
    addresses?: { type: string; address: string }[];
    [field: string]: unknown;
  };
}

/** A pod template (deployments, replicasets, jobs, ...). */
export interface PodTemplate {
  metadata?: ObjectMeta;
  spec: PodSpec;
}

/** The controller ownerReference of an object, if any. */
export function controllerRef(object: KubeObject): OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

/** "namespace/name" (or "name" for cluster-scoped objects): a reconcile key. */
export function keyOf(object: KubeObject): string {
  const ns = object.metadata?.namespace;
  return ns ? `${ns}/${object.metadata?.name}` : (object.metadata?.name ?? "");
}

/** Split a reconcile key back into namespace and name. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** A deep copy: cached objects are shared and must never be mutated. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Whether a pod has finished (it no longer counts as active). */
export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** Whether a pod counts as active for its controller: not finished and not being deleted. */
export function isActive(pod: Pod): boolean {
  return !isTerminal(pod) && !pod.metadata.deletionTimestamp;
}

/** Whether the pod's Ready condition is True. */
export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Whether a pod has been Ready for at least minReadySeconds (available, in Kubernetes' terms). */
export function isAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  if (!isReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  const since = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now.getTime();
}

/** FNV-1a 32-bit of a string, its decimal form spelled in the safe alphabet (how pod-template-hash looks). */
export function safeHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  let out = "";
  for (const ch of String(hash)) out += NAME_ALPHABET[ch.charCodeAt(0) % NAME_ALPHABET.length];
  return out;
}

/**
 * JSON with object keys sorted, so equal objects serialise equally (for hashing/comparing templates). A null
 * field counts as absent, as in kube's typed objects: `kubectl rollout undo` sends a template with
 * `metadata.creationTimestamp: null`, which must still match the ReplicaSet made from the same template.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
