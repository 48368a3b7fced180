/**
 * Scheduling filters: each answers why a pod cannot go to a node (kube-scheduler's
 * wording), or undefined when it can. Run in kube-scheduler's plugin order.
 */
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from "../k8s.ts";
import type { NodeInfo } from "./node-info.ts";
import type { ResourceList } from "./resources.ts";

/** What the filters need to know about the pod being scheduled (computed once per pod). */
export interface PodInfo {
  pod: Pod;
  requests: ResourceList;
  /** nodeSelector, merged with the RuntimeClass's scheduling.nodeSelector. */
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  /** "protocol/hostIP/hostPort" for every requested host port. */
  hostPorts: string[];
}

/** The reasons a node fails one filter (several for resource fit), or undefined. */
export type FilterResult = string[] | undefined;

/** Does a toleration tolerate a taint (v1helper.ToleratesTaint)? */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  if (!toleration.key && toleration.operator !== "Exists") return false;
  if (toleration.operator === "Exists") return true;
  return (toleration.value ?? "") === (taint.value ?? "");
}

function matchRequirement(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0], 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return req.operator === "Gt" ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** Does a node selector term match a node (expressions on labels, fields on metadata.name)? */
export function matchTerm(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const req of exprs) if (!matchRequirement(req, labels[req.key])) return false;
  for (const req of fields) {
    if (req.key !== "metadata.name" || !matchRequirement(req, nodeName)) return false;
  }
  return true;
}

function unschedulable(_pod: PodInfo, node: NodeInfo): FilterResult {
  if (!node.ready) return ["node(s) were not ready"];
  if (!node.unschedulable) return undefined;
  const tolerated = _pod.tolerations.some((t) =>
    tolerates(t, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }),
  );
  return tolerated ? undefined : ["node(s) were unschedulable"];
}

function nodeName(pod: PodInfo, node: NodeInfo): FilterResult {
  const wanted = pod.pod.spec.nodeName;
  return wanted && wanted !== node.name ? ["node(s) didn't match the requested node name"] : undefined;
}

function taintToleration(pod: PodInfo, node: NodeInfo): FilterResult {
  for (const taint of node.taints) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!pod.tolerations.some((t) => tolerates(t, taint))) {
      return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`];
    }
  }
  return undefined;
}

function nodeAffinity(pod: PodInfo, node: NodeInfo): FilterResult {
  // for...in: this runs for hundreds of nodes per pod, and Object.entries would allocate on each.
  for (const k in pod.nodeSelector) {
    if (node.labels[k] !== pod.nodeSelector[k]) return ["node(s) didn't match Pod's node affinity/selector"];
  }
  const required = pod.pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !required.nodeSelectorTerms.some((term) => matchTerm(term, node.labels, node.name))) {
    return ["node(s) didn't match Pod's node affinity/selector"];
  }
  return undefined;
}

function nodePorts(pod: PodInfo, node: NodeInfo): FilterResult {
  for (const port of pod.hostPorts) {
    if (node.conflictsWithPort(port)) return ["node(s) didn't have free ports for the requested pod ports"];
  }
  return undefined;
}

function resourcesFit(pod: PodInfo, node: NodeInfo): FilterResult {
  // Most nodes fit: check without allocating, and collect every reason (kube lists them all) only on a miss.
  let fits = node.podCount + 1 <= node.allocatable("pods");
  for (const [name, amount] of pod.requests) {
    if (!fits) break;
    if (amount > 0 && node.requested(name) + amount > node.allocatable(name)) fits = false;
  }
  if (fits) return undefined;
  const reasons: string[] = [];
  if (node.podCount + 1 > node.allocatable("pods")) reasons.push("Too many pods");
  for (const [name, amount] of pod.requests) {
    if (amount <= 0) continue;
    if (node.requested(name) + amount > node.allocatable(name)) reasons.push(`Insufficient ${name}`);
  }
  return reasons;
}

/** The filters, in kube-scheduler's order; a node fails on the first that objects. */
const FILTERS: ((pod: PodInfo, node: NodeInfo) => FilterResult)[] = [
  unschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodePorts,
  resourcesFit,
];

/** The filters about where a pod may go at all (taints, selector, affinity), not whether it fits now. */
export const PLACEMENT_FILTERS: ((pod: PodInfo, node: NodeInfo) => FilterResult)[] = [
  taintToleration,
  nodeAffinity,
];

/** Run every filter; the first failure's reasons, or undefined when the node fits. */
export function runFilters(pod: PodInfo, node: NodeInfo): FilterResult {
  for (const filter of FILTERS) {
    const result = filter(pod, node);
    if (result) return result;
  }
  return undefined;
}
