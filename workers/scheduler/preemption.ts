/**
 * kube-scheduler's DefaultPreemption (pkg/scheduler/framework/plugins/defaultpreemption),
 * simplified but the same decisions: for a pod that fits no node, find the
 * nodes where removing lower-priority pods makes it fit; on each, keep back
 * (reprieve) as many of those pods as still let it fit, most important first
 * and those whose PodDisruptionBudget allows no disruption before the
 * others; then pick the node whose victims cost least (fewest budget
 * violations, lowest highest victim priority, lowest priority sum, fewest
 * victims, latest start). Pure: the scheduler (index.ts) writes the result.
 */
import type { KubeObject } from "../client/kube.ts";
import { type LabelSelector, matchesSelector, type Pod } from "../reconcile/k8s.ts";
import { type PodInfo, runFilters } from "../reconcile/placement/filters.ts";
import { NodeInfo } from "../reconcile/placement/node-info.ts";

/** A policy/v1 PodDisruptionBudget, as far as preemption reads it. */
export interface PodDisruptionBudget extends KubeObject {
  spec?: { selector?: LabelSelector };
  status?: { disruptionsAllowed?: number };
}

/** The pods to evict from one node so that the preemptor fits there. */
export interface Preemption {
  node: string;
  victims: Pod[];
  /** How many victims a budget did not allow to go (kube still evicts them when it must). */
  pdbViolations: number;
}

/** What preemption needs of the pass-long scheduler state. */
export interface PreemptionView {
  readonly nodes: readonly NodeInfo[];
  /** Unfinished pods bound or assumed to a node this pass. */
  podsOn(node: string): readonly Pod[];
  /** Pods nominated to a node (status.nominatedNodeName, not yet bound). */
  nominatedOn(node: string): readonly Pod[];
}

/** spec.priority, 0 when unset. */
export const priorityOf = (pod: Pod): number => (pod.spec.priority as number | undefined) ?? 0;

/** kube's MoreImportantPod: higher priority, then started earlier. */
function moreImportant(a: Pod, b: Pod): number {
  const d = priorityOf(b) - priorityOf(a);
  if (d !== 0) return d;
  const ta = a.status?.startTime ?? a.metadata.creationTimestamp ?? "";
  const tb = b.status?.startTime ?? b.metadata.creationTimestamp ?? "";
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/**
 * kube's PodEligibleToPreemptOthers: not with preemptionPolicy Never, and not
 * again while lower-priority pods on its nominated node are still going away
 * (an earlier preemption is in progress there).
 */
export function eligibleToPreempt(pod: Pod, view: PreemptionView): boolean {
  if (pod.spec.preemptionPolicy === "Never") return false;
  const nominated = pod.status?.nominatedNodeName;
  if (!nominated) return true;
  return !view.podsOn(nominated).some((p) => p.metadata.deletionTimestamp && priorityOf(p) < priorityOf(pod));
}

/** Does the pod fit a node holding exactly these pods (and the higher nominated ones)? */
function fits(info: PodInfo, node: NodeInfo, pods: readonly Pod[]): boolean {
  const view = new NodeInfo(node.node);
  for (const p of pods) view.addPod(p);
  return runFilters(info, view) === undefined;
}

/** kube's filterPodsWithPDBViolation: which pods' budgets have no disruption left (counting earlier victims). */
function violatingPods(pods: Pod[], pdbs: readonly PodDisruptionBudget[]): Set<Pod> {
  const allowed = pdbs.map((b) => b.status?.disruptionsAllowed ?? 0);
  const violating = new Set<Pod>();
  for (const pod of pods) {
    pdbs.forEach((pdb, i) => {
      const selector = pdb.spec?.selector;
      if (pdb.metadata?.namespace !== pod.metadata.namespace || !selector) return;
      // An empty selector matches nothing for a PDB (policy/v1 semantics for preemption).
      if (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length)
        return;
      if (!matchesSelector(selector, pod.metadata.labels ?? {})) return;
      allowed[i]--;
      if (allowed[i] < 0) violating.add(pod);
    });
  }
  return violating;
}

/** kube's selectVictimsOnNode: the fewest, least important pods whose removal lets the pod fit, or undefined. */
function victimsOnNode(
  info: PodInfo,
  node: NodeInfo,
  view: PreemptionView,
  pdbs: readonly PodDisruptionBudget[],
  preempted: ReadonlySet<string> = new Set(),
): Preemption | undefined {
  const priority = priorityOf(info.pod);
  const uid = info.pod.metadata.uid;
  const kept: Pod[] = view
    .nominatedOn(node.name)
    .filter((p) => p.metadata.uid !== uid && priorityOf(p) >= priority);
  const candidates: Pod[] = [];
  for (const p of view.podsOn(node.name)) {
    // Pods already going away (or chosen as victims this pass) free their room on their own.
    const going = p.metadata.deletionTimestamp || preempted.has(p.metadata.uid ?? "");
    if (priorityOf(p) < priority && !going) candidates.push(p);
    else kept.push(p);
  }
  if (candidates.length === 0 || !fits(info, node, kept)) return undefined;
  candidates.sort(moreImportant);
  const violating = violatingPods(candidates, pdbs);
  const victims: Pod[] = [];
  let pdbViolations = 0;
  // Reprieve the budget-protected pods first, then the rest, most important first.
  for (const group of [
    candidates.filter((p) => violating.has(p)),
    candidates.filter((p) => !violating.has(p)),
  ]) {
    for (const p of group) {
      if (fits(info, node, [...kept, p])) kept.push(p);
      else {
        victims.push(p);
        if (violating.has(p)) pdbViolations++;
      }
    }
  }
  return victims.length ? { node: node.name, victims, pdbViolations } : undefined;
}

/** kube's pickOneNodeForPreemption, criteria in its order. */
function better(a: Preemption, b: Preemption): boolean {
  if (a.pdbViolations !== b.pdbViolations) return a.pdbViolations < b.pdbViolations;
  const highest = (c: Preemption) => Math.max(...c.victims.map(priorityOf));
  if (highest(a) !== highest(b)) return highest(a) < highest(b);
  // kube offsets each priority by MaxInt32+1 so negative priorities still add up as costs.
  const sum = (c: Preemption) => c.victims.reduce((s, p) => s + priorityOf(p) + 2 ** 31, 0);
  if (sum(a) !== sum(b)) return sum(a) < sum(b);
  if (a.victims.length !== b.victims.length) return a.victims.length < b.victims.length;
  // The node whose most important victims started last loses the least work.
  const earliest = (c: Preemption) => {
    const top = highest(c);
    const times = c.victims.filter((p) => priorityOf(p) === top).map((p) => p.status?.startTime ?? "");
    return times.sort()[0] ?? "";
  };
  return earliest(a) > earliest(b);
}

/** The node and victims to preempt for a pod that fits nowhere, or undefined when preemption cannot help. */
export function findPreemption(
  info: PodInfo,
  view: PreemptionView,
  pdbs: readonly PodDisruptionBudget[],
  preempted: ReadonlySet<string> = new Set(),
): Preemption | undefined {
  let best: Preemption | undefined;
  for (const node of view.nodes) {
    const candidate = victimsOnNode(info, node, view, pdbs, preempted);
    if (candidate && (!best || better(candidate, best))) best = candidate;
  }
  return best;
}
