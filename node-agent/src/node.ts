/**
 * The agent's Node object and its heartbeats, as the kubelet does them:
 * register (create, or take over an existing Node of this name), keep the
 * Lease in kube-node-lease renewed every 10 s, and publish node status
 * (Ready condition, capacity measured from the host, addresses, nodeInfo).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { ApiError } from "../../workers/client/status.ts";
import { microTimestamp } from "../../workers/client/time.ts";
import type { Clock } from "./clock.ts";
import { LOCAL_PATH_DIR } from "./local-path.ts";

/** Node identity and what it offers. */
export interface NodeOptions {
  name: string;
  labels: Record<string, string>;
  maxPods: number;
  /** RuntimeClass handlers served (each adds label edgeplane.dev/runtime-<handler>=true). */
  runtimes: string[];
  hostIP: string;
  version: string;
  /** Where this node keeps local-path volumes (published for the provisioner). */
  localPathDir?: string;
  /**
   * A pod CIDR the operator gave (--pod-cidr): claimed on the Node when it is created, so node IPAM leaves
   * it be (tests with private /24s, clusters without IPAM). Unset: the Node waits for node IPAM's.
   */
  podCIDR?: string;
}

/** The Node object this agent registers. */
export function nodeObject(options: NodeOptions): KubeObject {
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": options.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": goArch(os.arch()),
    "beta.kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": goArch(os.arch()),
    ...Object.fromEntries(options.runtimes.map((r) => [`edgeplane.dev/runtime-${r}`, "true"])),
    ...options.labels,
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: options.name,
      labels,
      annotations: {
        "edgeplane.dev/runtimes": options.runtimes.join(","),
        ...(options.localPathDir ? { [LOCAL_PATH_DIR]: options.localPathDir } : {}),
      },
    },
    spec: options.podCIDR ? { podCIDR: options.podCIDR, podCIDRs: [options.podCIDR] } : {},
  };
}

/** Node status: Ready and pressure conditions, capacity from the host, addresses and nodeInfo. */
export function nodeStatus(
  options: NodeOptions,
  now: Date,
  previous?: { type: string; status: string; lastTransitionTime?: string }[],
) {
  const at = now.toISOString();
  const since = (type: string, status: string) => {
    const old = previous?.find((c) => c.type === type);
    return old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : at;
  };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: at,
    lastTransitionTime: since(type, status),
  });
  const memKi = Math.floor(os.totalmem() / 1024);
  const capacity = {
    cpu: String(os.cpus().length),
    memory: `${memKi}Ki`,
    pods: String(options.maxPods),
    "ephemeral-storage": "0",
  };
  // Reserve what the agent itself needs, as kubelet's --system-reserved would.
  const allocatable = { ...capacity, memory: `${Math.max(0, memKi - 256 * 1024)}Ki` };
  return {
    capacity,
    allocatable,
    conditions: [
      condition(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
      ),
      condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      condition("Ready", "True", "KubeletReady", "edgeplane node agent is posting ready status"),
    ],
    addresses: [
      { type: "InternalIP", address: options.hostIP },
      { type: "Hostname", address: options.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: readId("/etc/machine-id"),
      systemUUID: readId("/sys/class/dmi/id/product_uuid"),
      bootID: readId("/proc/sys/kernel/random/boot_id"),
      kernelVersion: os.release(),
      osImage: osImage(),
      containerRuntimeVersion: `edgeplane-wasm://node-${process.versions.node}`,
      kubeletVersion: options.version,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: goArch(os.arch()),
    },
  };
}

/** Create the Node, or adopt an existing one (labels merged). */
export async function registerNode(client: KubeClient, options: NodeOptions, clock: Clock): Promise<void> {
  const node = nodeObject(options);
  try {
    await client.create(R.nodes, undefined, node);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 409)) throw error;
    await client.patch(R.nodes, undefined, options.name, "merge", {
      metadata: { labels: node.metadata?.labels, annotations: node.metadata?.annotations },
    });
  }
  await postStatus(client, options, clock);
}

/** PATCH nodes/<name>/status with fresh conditions and heartbeat times. */
export async function postStatus(client: KubeClient, options: NodeOptions, clock: Clock): Promise<void> {
  let previous: { type: string; status: string; lastTransitionTime?: string }[] | undefined;
  try {
    const current = await client.get<KubeObject & { status?: { conditions?: typeof previous } }>(
      R.nodes,
      undefined,
      options.name,
    );
    previous = current.status?.conditions;
  } catch {
    previous = undefined;
  }
  await client.patch(
    R.nodes,
    undefined,
    options.name,
    "merge",
    { status: nodeStatus(options, clock.now(), previous) },
    { subresource: "status" },
  );
}

/** Create or renew this node's Lease (holder = node, 40 s duration), owned by the Node like kubelet's. */
export async function renewLease(
  client: KubeClient,
  options: NodeOptions,
  clock: Clock,
  nodeUid?: string,
): Promise<void> {
  const now = microTimestamp(clock.now());
  try {
    const lease = await client.get<KubeObject & { spec?: Record<string, unknown> }>(
      R.leases,
      "kube-node-lease",
      options.name,
    );
    await client.update(R.leases, "kube-node-lease", {
      ...lease,
      spec: { ...lease.spec, holderIdentity: options.name, leaseDurationSeconds: 40, renewTime: now },
    });
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 404)) throw error;
    await client.create(R.leases, "kube-node-lease", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: options.name,
        namespace: "kube-node-lease",
        ownerReferences: nodeUid
          ? [{ apiVersion: "v1", kind: "Node", name: options.name, uid: nodeUid }]
          : undefined,
      },
      spec: { holderIdentity: options.name, leaseDurationSeconds: 40, renewTime: now, acquireTime: now },
    });
  }
}

/**
 * Lease every 10 s; node status every minute, and at once after a failed or a late beat. A late beat
 * (this process was stopped, its host suspended) may have left the lease silent past the grace period:
 * the node lifecycle controller then set Ready=Unknown, which only our status puts right, as the
 * kubelet's status sync does as soon as it sees the Node differ. Runs until `signal` aborts.
 */
export async function heartbeat(
  client: KubeClient,
  options: NodeOptions,
  clock: Clock,
  signal: AbortSignal,
  log: (message: string) => void,
  nodeUid?: string,
): Promise<void> {
  let beats = 0;
  let healthy = true;
  let last = clock.now().getTime();
  while (!signal.aborted) {
    await clock.sleep(10_000, signal);
    if (signal.aborted) return;
    const late = clock.now().getTime() - last > 15_000;
    try {
      await renewLease(client, options, clock, nodeUid);
      last = clock.now().getTime();
      if (++beats % 6 === 0 || !healthy || late) await postStatus(client, options, clock);
      healthy = true;
    } catch (error) {
      healthy = false;
      log(`heartbeat: ${(error as Error).message}`);
    }
  }
}

/** The first non-internal IPv4 address of the host (or loopback). */
export function hostIPv4(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

function goArch(arch: string): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" } as Record<string, string>)[arch] ?? arch;
}

function readId(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().replace(/-/g, "");
  } catch {
    return "";
  }
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"));
    return m?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}
