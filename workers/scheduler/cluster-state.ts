/**
 * kube-scheduler's cache, reduced to what a pass reads: per-node accounting
 * (NodeInfo) and the pods on each node, kept across passes and brought up to
 * date from the informers' lists by what changed since the last pass. The
 * informers hand out the same (never mutated) object until it changes, so an
 * unchanged pod or node costs one identity check instead of being counted
 * again: at 10,000 pods a fresh count took longer than the pass's decisions.
 * Pods assumed onto a node by a pass stay counted until their binding shows
 * in the list (a new object) or the pass forgets them (the binding failed).
 */
import { isTerminal, type Node, type Pod } from "../reconcile/k8s.ts";
import { NodeInfo, podHostPorts } from "../reconcile/placement/node-info.ts";
import { podRequests } from "../reconcile/placement/resources.ts";

/** One pod as last seen, and the node it is counted on (none: pending, finished, or never listed). */
interface Entry {
  key: string;
  pod: Pod;
  node?: string;
  /** The update that last saw it (entries not seen by the latest were deleted). */
  seen: number;
}

const keyOf = (pod: Pod) => `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`;

/** Per-node accounting kept across passes (one per informer cache; see index.ts). */
export class ClusterState {
  /** NodeInfos in the order of the last node list (the rotation in scheduleOne depends on it). */
  nodes: NodeInfo[] = [];
  private readonly infos = new Map<string, NodeInfo>();
  /** Counted pods by node name, including nodes not (or no longer) listed: they count when it comes back. */
  private readonly onNode = new Map<string, Map<string, Pod>>();
  private readonly entries = new Map<string, Entry>();
  /** The entry of each pod object as listed: an unchanged pod is found without building its key. */
  private readonly byObject = new WeakMap<Pod, Entry>();
  private lastNodes: readonly Node[] | undefined;
  private lastPods: readonly Pod[] | undefined;
  private generation = 0;
  /** Where the next pod's search for feasible nodes starts (kube-scheduler's nextStartNodeIndex). */
  nextStart = 0;

  /** Bring the state up to the given lists; unchanged lists (same arrays) cost nothing. */
  update(nodes: readonly Node[], pods: readonly Pod[]): void {
    if (nodes !== this.lastNodes) this.updateNodes(nodes);
    if (pods !== this.lastPods) this.updatePods(pods);
    this.lastNodes = nodes;
    this.lastPods = pods;
  }

  /** The NodeInfo of a listed node. */
  info(name: string): NodeInfo | undefined {
    return this.infos.get(name);
  }

  /** The unfinished pods counted on a node (bound, or assumed by a pass). */
  podsOn(node: string): readonly Pod[] {
    const pods = this.onNode.get(node);
    return pods ? [...pods.values()] : [];
  }

  /** A pass decided this pod goes to `node`: count it there before the binding is written. */
  assume(pod: Pod, node: string): void {
    const key = keyOf(pod);
    const entry = this.entries.get(key);
    if (entry?.node) this.uncount(key, entry);
    this.count(key, pod, node);
    this.entries.set(key, { key, pod, node, seen: entry?.seen ?? this.generation });
  }

  /** The binding of an assumed pod failed: stop counting it, and read it from the next list afresh. */
  forget(pod: Pod): void {
    const key = keyOf(pod);
    const entry = this.entries.get(key);
    if (!entry || entry.pod !== pod) return;
    if (entry.node) this.uncount(key, entry);
    this.entries.delete(key);
  }

  private updateNodes(nodes: readonly Node[]): void {
    const listed = new Set<string>();
    this.nodes = nodes.map((node) => {
      const name = node.metadata.name ?? "";
      listed.add(name);
      let info = this.infos.get(name);
      if (info?.node !== node) {
        // A changed node (labels, taints, allocatable) is counted again from its pods.
        info = new NodeInfo(node);
        for (const pod of this.onNode.get(name)?.values() ?? []) info.addPod(pod);
        this.infos.set(name, info);
      }
      return info;
    });
    if (listed.size !== this.infos.size)
      for (const name of [...this.infos.keys()]) if (!listed.has(name)) this.infos.delete(name);
  }

  private updatePods(pods: readonly Pod[]): void {
    const generation = ++this.generation;
    for (const pod of pods) {
      const known = this.byObject.get(pod);
      if (known?.pod === pod && this.entries.get(known.key) === known) {
        known.seen = generation;
        continue;
      }
      const key = keyOf(pod);
      const entry = this.entries.get(key);
      if (entry?.pod === pod) {
        entry.seen = generation;
        continue;
      }
      // An assumed pod whose binding the list does not show yet stays where the pass put it.
      if (entry?.node && !pod.spec?.nodeName && entry.pod.metadata.uid === pod.metadata.uid) {
        entry.seen = generation;
        continue;
      }
      if (entry?.node) this.uncount(key, entry);
      const node = pod.spec?.nodeName && !isTerminal(pod) ? pod.spec.nodeName : undefined;
      if (node) this.count(key, pod, node);
      const added: Entry = { key, pod, node, seen: generation };
      this.entries.set(key, added);
      this.byObject.set(pod, added);
    }
    if (this.entries.size === pods.length) return;
    for (const [key, entry] of this.entries) {
      if (entry.seen === generation) continue;
      if (entry.node) this.uncount(key, entry);
      this.entries.delete(key);
    }
  }

  private count(key: string, pod: Pod, node: string): void {
    const pods = this.onNode.get(node) ?? new Map<string, Pod>();
    if (pods.size === 0) this.onNode.set(node, pods);
    pods.set(key, pod);
    this.infos.get(node)?.addPod(pod, podRequests(pod), podHostPorts(pod));
  }

  private uncount(key: string, entry: Entry): void {
    if (!entry.node) return;
    const pods = this.onNode.get(entry.node);
    pods?.delete(key);
    if (pods?.size === 0) this.onNode.delete(entry.node);
    this.infos.get(entry.node)?.removePod(entry.pod, podRequests(entry.pod), podHostPorts(entry.pod));
  }
}
