/**
 * A node as the scheduler sees it during one pass: what it can hold, what the
 * pods already there (and the pods assumed onto it this pass) use.
 */
import { controllerRef, type Node, type Pod, type Taint } from "../k8s.ts";
import { nonZeroRequests, podRequests, type ResourceList, toResourceList } from "./resources.ts";

/** Per-node accounting, updated in place as pods are assumed onto the node. */
export class NodeInfo {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly taints: Taint[];
  readonly ready: boolean;
  readonly unschedulable: boolean;
  podCount = 0;
  /** cpu/memory with kube-scheduler's non-zero defaults, for scoring. */
  nonZeroCpu = 0;
  nonZeroMemory = 0;
  private readonly alloc: ResourceList;
  private readonly used: ResourceList = new Map();
  /** Host ports in use, with how many pods hold each (a pod leaving frees a port only when it was the last). */
  private readonly ports = new Map<string, number>();
  /** Pods here per controller owner UID (for spreading). */
  readonly owners = new Map<string, number>();

  constructor(readonly node: Node) {
    this.name = node.metadata.name ?? "";
    this.labels = node.metadata.labels ?? {};
    this.taints = node.spec?.taints ?? [];
    this.unschedulable = node.spec?.unschedulable === true;
    this.ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    this.alloc = toResourceList(node.status?.allocatable ?? node.status?.capacity);
  }

  /** Allocatable amount of a resource (0 when the node does not offer it; pods default to 110). */
  allocatable(name: string): number {
    const value = this.alloc.get(name);
    if (value !== undefined) return value;
    return name === "pods" ? 110 : 0;
  }

  /** Amount of a resource requested by the pods on this node. */
  requested(name: string): number {
    return this.used.get(name) ?? 0;
  }

  /** Does a "protocol/hostIP/port" clash with a port already in use (0.0.0.0 clashes with every IP)? */
  conflictsWithPort(port: string): boolean {
    if (this.ports.has(port)) return true;
    const [protocol, ip, number] = port.split("/");
    if (ip === "0.0.0.0") {
      for (const used of this.ports.keys()) {
        const [p, , n] = used.split("/");
        if (p === protocol && n === number) return true;
      }
      return false;
    }
    return this.ports.has(`${protocol}/0.0.0.0/${number}`);
  }

  /** Account for a pod on this node (already bound, or assumed this pass). */
  addPod(pod: Pod, requests: ResourceList = podRequests(pod), hostPorts: string[] = podHostPorts(pod)): void {
    this.podCount++;
    for (const [k, v] of requests) this.used.set(k, (this.used.get(k) ?? 0) + v);
    const nz = nonZeroRequests(requests);
    this.nonZeroCpu += nz.cpu;
    this.nonZeroMemory += nz.memory;
    for (const port of hostPorts) this.ports.set(port, (this.ports.get(port) ?? 0) + 1);
    const owner = controllerRef(pod)?.uid;
    if (owner) this.owners.set(owner, (this.owners.get(owner) ?? 0) + 1);
  }

  /** Undo addPod for a pod that left the node (or changed): the scheduler's cache is kept across passes. */
  removePod(
    pod: Pod,
    requests: ResourceList = podRequests(pod),
    hostPorts: string[] = podHostPorts(pod),
  ): void {
    this.podCount--;
    for (const [k, v] of requests) {
      const left = (this.used.get(k) ?? 0) - v;
      if (left === 0) this.used.delete(k);
      else this.used.set(k, left);
    }
    const nz = nonZeroRequests(requests);
    this.nonZeroCpu -= nz.cpu;
    this.nonZeroMemory -= nz.memory;
    for (const port of hostPorts) {
      const left = (this.ports.get(port) ?? 0) - 1;
      if (left > 0) this.ports.set(port, left);
      else this.ports.delete(port);
    }
    const owner = controllerRef(pod)?.uid;
    if (owner) {
      const left = (this.owners.get(owner) ?? 0) - 1;
      if (left > 0) this.owners.set(owner, left);
      else this.owners.delete(owner);
    }
  }

  /** What the pods here add up to, in a comparable form (tests: an incrementally kept node equals a fresh one). */
  summary(): unknown {
    const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      name: this.name,
      podCount: this.podCount,
      nonZeroCpu: this.nonZeroCpu,
      nonZeroMemory: this.nonZeroMemory,
      used: sorted(this.used),
      ports: sorted(this.ports),
      owners: sorted(this.owners),
    };
  }
}

/** "protocol/hostIP/hostPort" for each host port a pod asks for. */
export function podHostPorts(pod: Pod): string[] {
  const out: string[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort && p.hostPort > 0)
        out.push(`${p.protocol ?? "TCP"}/${p.hostIP || "0.0.0.0"}/${p.hostPort}`);
    }
  }
  return out;
}
