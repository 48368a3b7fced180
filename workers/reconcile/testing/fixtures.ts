/** Small builders for Nodes and Pods in unit tests. */
import type { Node, Pod, PodSpec, Taint } from "../k8s.ts";

/** A Ready node with the given allocatable cpu/memory (and pods 110). */
export function node(
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: Taint[];
    ready?: boolean;
    unschedulable?: boolean;
  } = {},
): Node {
  const allocatable = {
    cpu: opts.cpu ?? "4",
    memory: opts.memory ?? "8Gi",
    pods: opts.pods ?? "110",
    "ephemeral-storage": "100Gi",
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...opts.labels } },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
    },
  };
}

/** A pod in namespace "default" with one container requesting cpu/memory. */
export function pod(
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    spec?: Partial<PodSpec>;
    owner?: string;
    created?: string;
    labels?: Record<string, string>;
  } = {},
): Pod {
  const requests: Record<string, string> = {};
  if (opts.cpu) requests.cpu = opts.cpu;
  if (opts.memory) requests.memory = opts.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `pod-${name}`,
      labels: opts.labels,
      creationTimestamp: opts.created ?? "2026-01-01T00:00:00Z",
      ownerReferences: opts.owner
        ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: opts.owner, uid: opts.owner, controller: true }]
        : undefined,
    },
    spec: { containers: [{ name: "c", image: "x", resources: { requests } }], ...opts.spec },
    status: { phase: "Pending" },
  };
}
