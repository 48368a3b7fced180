/**
 * The pure scheduling algorithm: given pending pods, nodes and the pods
 * already bound, decide a node for each pod (or say why none fits), assuming
 * each decision before making the next so one pass never overcommits a node.
 */
import type { KubeObject } from "../client/kube.ts";
import { controllerRef, isTerminal, type Node, type Pod, type Toleration } from "../reconcile/k8s.ts";
import { type FilterResult, type PodInfo, runFilters } from "../reconcile/placement/filters.ts";
import { NodeInfo, podHostPorts } from "../reconcile/placement/node-info.ts";
import { podRequests } from "../reconcile/placement/resources.ts";
import { ClusterState } from "./cluster-state.ts";
import {
  findPreemption,
  type PodDisruptionBudget,
  type Preemption,
  type PreemptionView,
  priorityOf,
} from "./preemption.ts";
import { scoreNodes } from "./scores.ts";
import { type VolumeCheck, volumeConflict } from "./volumes.ts";

/** A RuntimeClass (node.k8s.io/v1), as far as scheduling cares. */
export interface RuntimeClass extends KubeObject {
  handler?: string;
  scheduling?: { nodeSelector?: Record<string, string>; tolerations?: Toleration[] };
}

/** The outcome for one pod. */
export type Decision = { pod: Pod; node: string } | { pod: Pod; node?: undefined; message: string };

/** Options of a scheduling pass. */
export interface ScheduleOptions {
  /** RuntimeClasses by name (their scheduling constraints apply to pods that name them). */
  runtimeClasses?: Map<string, RuntimeClass>;
  /** Stop filtering once this share of nodes was found feasible (kube's percentageOfNodesToScore; 0 = adaptive). */
  percentageOfNodesToScore?: number;
  /** What a pod's PersistentVolumeClaims ask of its node (absent: claims are not checked). */
  volumes?: VolumeCheck;
}

/** Is this pod waiting for the default scheduler? */
export function isPending(pod: Pod): boolean {
  const scheduler = pod.spec?.schedulerName ?? "default-scheduler";
  return (
    !pod.spec?.nodeName &&
    scheduler === "default-scheduler" &&
    !pod.metadata.deletionTimestamp &&
    !isTerminal(pod)
  );
}

/** kube-scheduler's numFeasibleNodesToFind: all nodes below 100, else an adaptive share (at least 100). */
export function feasibleNodesToFind(numNodes: number, percentage = 0): number {
  if (numNodes < 100 || percentage >= 100) return numNodes;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(5, 50 - Math.floor(numNodes / 125));
  return Math.max(100, Math.floor((numNodes * pct) / 100));
}

/** Append to a per-node list. */
function push(map: Map<string, Pod[]>, key: string, pod: Pod): void {
  const list = map.get(key);
  if (list) list.push(pod);
  else map.set(key, [pod]);
}

/**
 * The pass-long state: node accounting and the pods on each node (a
 * ClusterState, kept across passes by the caller or fresh), those nominated
 * to a node by an earlier preemption, plus a rotating start index (spreads
 * work like kube-scheduler).
 */
export class Scheduler implements PreemptionView {
  private readonly state: ClusterState;
  private readonly nominated = new Map<string, Pod[]>();
  /** UIDs of the victims chosen this pass (their room is already promised). */
  private readonly preempted = new Set<string>();

  /**
   * `pods`: every pod; bound ones count on their node, pending ones with status.nominatedNodeName hold room
   * there. `state`: the accounting of an earlier pass, brought up to these lists (default: counted afresh).
   */
  constructor(
    nodes: readonly Node[],
    pods: readonly Pod[],
    private readonly options: ScheduleOptions = {},
    state = new ClusterState(),
  ) {
    this.state = state;
    state.update(nodes, pods);
    for (const pod of pods) {
      const nominated = pod.status?.nominatedNodeName;
      if (nominated && !pod.spec?.nodeName && !pod.metadata.deletionTimestamp && !isTerminal(pod))
        push(this.nominated, nominated, pod);
    }
  }

  /** The nodes of the pass, in list order. */
  get nodes(): readonly NodeInfo[] {
    return this.state.nodes;
  }

  /** PreemptionView: the unfinished pods bound or assumed to a node. */
  podsOn(node: string): readonly Pod[] {
    return this.state.podsOn(node);
  }

  /** PreemptionView: the pending pods nominated to a node. */
  nominatedOn(node: string): readonly Pod[] {
    return this.nominated.get(node) ?? [];
  }

  /** The binding of a pod this pass placed failed: its room is free again. */
  forget(pod: Pod): void {
    this.state.forget(pod);
  }

  /**
   * kube's addNominatedPods: the filters see a node as if the pending pods
   * nominated to it with at least this pod's priority were already there, so
   * lower-priority pods do not take the room a preemption freed.
   */
  private filter(info: PodInfo, node: NodeInfo): FilterResult {
    // The common case (no preemption in progress) costs no lookup per node.
    const nominated = this.nominated.size ? this.nominated.get(node.name) : undefined;
    if (!nominated) return runFilters(info, node);
    const uid = info.pod.metadata.uid;
    const priority = priorityOf(info.pod);
    const ahead = nominated.filter((p) => p.metadata.uid !== uid && priorityOf(p) >= priority);
    if (ahead.length === 0) return runFilters(info, node);
    const view = new NodeInfo(node.node);
    for (const p of [...this.podsOn(node.name), ...ahead]) view.addPod(p);
    return runFilters(info, view);
  }

  /** Find victims whose eviction lets the pod fit (kube's PostFilter), and remember them as taken. */
  preempt(pod: Pod, pdbs: readonly PodDisruptionBudget[]): Preemption | undefined {
    const info = this.podInfo(pod);
    if (typeof info === "string") return undefined;
    const found = findPreemption(info, this, pdbs, this.preempted);
    for (const victim of found?.victims ?? []) this.preempted.add(victim.metadata.uid ?? "");
    if (found) {
      for (const list of this.nominated.values()) {
        const i = list.findIndex((p) => p.metadata.uid === pod.metadata.uid);
        if (i >= 0) list.splice(i, 1);
      }
      push(this.nominated, found.node, pod);
    }
    return found;
  }

  /** Build the filters' view of a pod, or an error message when its RuntimeClass is missing. */
  podInfo(pod: Pod): PodInfo | string {
    const nodeSelector = { ...pod.spec.nodeSelector };
    const tolerations = [...(pod.spec.tolerations ?? [])];
    const rcName = pod.spec.runtimeClassName;
    if (rcName) {
      const rc = this.options.runtimeClasses?.get(rcName);
      if (!rc) return `0/${this.nodes.length} nodes are available: runtimeclass "${rcName}" not found.`;
      Object.assign(nodeSelector, rc.scheduling?.nodeSelector);
      tolerations.push(...(rc.scheduling?.tolerations ?? []));
    }
    return { pod, requests: podRequests(pod), nodeSelector, tolerations, hostPorts: podHostPorts(pod) };
  }

  /** Pick a node for one pod and assume the pod onto it; or explain (kube-scheduler's FitError wording). */
  scheduleOne(pod: Pod): Decision {
    const info = this.podInfo(pod);
    if (typeof info === "string") return { pod, message: info };
    const volumes = this.options.volumes?.(pod);
    const total = this.nodes.length;
    if (typeof volumes === "string") return { pod, message: `0/${total} nodes are available: ${volumes}.` };
    const want = feasibleNodesToFind(total, this.options.percentageOfNodesToScore);
    const feasible: NodeInfo[] = [];
    const reasons = new Map<string, number>();
    const nodes = this.nodes;
    const start = this.state.nextStart % (total || 1);
    let processed = 0;
    for (; processed < total && feasible.length < want; processed++) {
      const node = nodes[(start + processed) % total];
      const failed = this.filter(info, node) ?? volumeConflict(volumes, node.node);
      if (!failed) feasible.push(node);
      else for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    this.state.nextStart = total ? (start + processed) % total : 0;
    if (feasible.length === 0) return { pod, message: fitError(total, reasons) };
    const owner = controllerRef(pod)?.uid;
    const scores = scoreNodes(info, feasible, owner);
    let best = 0;
    for (let i = 1; i < feasible.length; i++) if (scores[i] > scores[best]) best = i;
    this.state.assume(pod, feasible[best].name);
    return { pod, node: feasible[best].name };
  }
}

/**
 * "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {k: v}."
 * Reasons with their node counts, most common first (ties alphabetical).
 */
function fitError(numNodes: number, reasons: Map<string, number>): string {
  const parts = [...reasons.entries()]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, count]) => `${count} ${reason}`);
  if (numNodes === 0) return "0/0 nodes are available: no nodes available to schedule pods.";
  return `0/${numNodes} nodes are available: ${parts.join(", ")}.`;
}

/** Order pods as kube-scheduler's queue does: higher priority first, then older first. */
export function queueOrder(a: Pod, b: Pod): number {
  const pa = (a.spec.priority as number | undefined) ?? 0;
  const pb = (b.spec.priority as number | undefined) ?? 0;
  if (pa !== pb) return pb - pa;
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/** Schedule every pending pod against the nodes and the pods already bound: one decision per pending pod. */
export function schedule(
  pending: Pod[],
  nodes: Node[],
  bound: Pod[],
  options: ScheduleOptions = {},
): Decision[] {
  const scheduler = new Scheduler(nodes, bound, options);
  return [...pending].sort(queueOrder).map((pod) => scheduler.scheduleOne(pod));
}
