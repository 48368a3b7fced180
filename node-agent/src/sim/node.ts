/**
 * One simulated node's registration and heartbeat: the Node object (Ready,
 * capacity) and its Lease in kube-node-lease, renewed like a kubelet does.
 */
import type { KubeClient, KubeObject } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import { microTimestamp, timestamp } from "../../../workers/client/time.ts";

const isCode = (error: unknown, ...codes: number[]) =>
  error instanceof ApiError && codes.includes(error.code);

/** What a simulated node looks like. */
export interface SimNodeSpec {
  name: string;
  index: number;
  capacity: Record<string, string>;
  labels: Record<string, string>;
  taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  leaseDurationSeconds: number;
}

function readyConditions(now: Date) {
  const at = timestamp(now);
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
  });
  return [
    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status (simulated)"),
  ];
}

/** The Node's status as the simulated kubelet posts it. */
export function nodeStatus(spec: SimNodeSpec, now: Date): Record<string, unknown> {
  return {
    capacity: spec.capacity,
    allocatable: spec.capacity,
    conditions: readyConditions(now),
    addresses: [
      { type: "InternalIP", address: `10.250.${Math.floor(spec.index / 250)}.${(spec.index % 250) + 1}` },
      { type: "Hostname", address: spec.name },
    ],
    nodeInfo: {
      kubeletVersion: "v1.32.0-sim",
      kubeProxyVersion: "",
      containerRuntimeVersion: "sim://1.0",
      operatingSystem: "linux",
      architecture: "amd64",
      osImage: "Edgeplane simulated node",
      kernelVersion: "",
      machineID: "",
      systemUUID: "",
      bootID: "",
    },
  };
}

/** Create (or take over) the Node and its Lease. */
export async function registerNode(client: KubeClient, spec: SimNodeSpec, now: Date): Promise<KubeObject> {
  const node: KubeObject = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      labels: {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...spec.labels,
      },
      annotations: { "edgeplane.dev/simulated": "true" },
    },
    spec: spec.taints?.length ? { taints: spec.taints } : {},
    status: nodeStatus(spec, now),
  };
  let saved: KubeObject;
  try {
    saved = await client.create(R.nodes, undefined, node);
  } catch (error) {
    if (!isCode(error, 409)) throw error;
    saved = await client.get(R.nodes, undefined, spec.name);
  }
  // Node create may drop status (status subresource): post it explicitly, as a kubelet does.
  saved = await postStatus(client, spec, saved, now);
  const lease: KubeObject = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: spec.name,
      namespace: "kube-node-lease",
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: spec.name, uid: saved.metadata?.uid ?? "" }],
    },
    spec: {
      holderIdentity: spec.name,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      renewTime: microTimestamp(now),
    },
  };
  try {
    await client.create(R.leases, "kube-node-lease", lease);
  } catch (error) {
    if (!isCode(error, 409)) throw error;
    await renewLease(client, spec.name, now);
  }
  return saved;
}

/** PUT the node's status (Ready, heartbeat), retrying once on a write race. */
export async function postStatus(
  client: KubeClient,
  spec: SimNodeSpec,
  node: KubeObject,
  now: Date,
): Promise<KubeObject> {
  try {
    return await client.update(
      R.nodes,
      undefined,
      { ...node, status: nodeStatus(spec, now) },
      { subresource: "status" },
    );
  } catch (error) {
    if (!isCode(error, 409)) throw error;
    const fresh = await client.get(R.nodes, undefined, spec.name);
    return client.update(
      R.nodes,
      undefined,
      { ...fresh, status: nodeStatus(spec, now) },
      { subresource: "status" },
    );
  }
}

/** Renew the node's Lease (get + PUT, like the kubelet's lease controller). */
export async function renewLease(client: KubeClient, name: string, now: Date): Promise<void> {
  const lease = await client.get(R.leases, "kube-node-lease", name);
  const spec = { ...(lease.spec as Record<string, unknown>), renewTime: microTimestamp(now) };
  await client.update(R.leases, "kube-node-lease", { ...lease, spec });
}

/** If the node lifecycle controller marked the node not Ready, say Ready again (the node is back). */
export async function reassertReady(client: KubeClient, spec: SimNodeSpec, now: Date): Promise<void> {
  const node = await client.get(R.nodes, undefined, spec.name);
  const conditions = (node.status as { conditions?: { type: string; status: string }[] } | undefined)
    ?.conditions;
  if (conditions?.find((c) => c.type === "Ready")?.status === "True") return;
  await postStatus(client, spec, node, now);
}
