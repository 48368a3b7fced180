/**
 * Node lifecycle controller: a node whose Lease (kube-node-lease/<node>) has
 * not been renewed within the grace period gets Ready=Unknown and the
 * node.kubernetes.io/unreachable taints; a NotReady node gets the not-ready
 * taints; a healthy node loses them. Pods on a node with a NoExecute taint are
 * evicted once their toleration runs out (the taint manager's job). When every
 * node is down at once, nothing is evicted (kube's master disruption mode).
 */
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import {
  type Condition,
  clone,
  findCondition,
  isTerminal,
  type Node,
  type Pod,
  type Taint,
  timestamp,
} from "../../reconcile/k8s.ts";
import { tolerates } from "../../reconcile/placement/filters.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";

const UNREACHABLE = "node.kubernetes.io/unreachable";
const NOT_READY = "node.kubernetes.io/not-ready";
const LEASE_NAMESPACE = "kube-node-lease";

/** When the node last proved it is alive: its Lease renewal or Ready heartbeat, whichever is later (ms). */
function lastHeartbeat(node: Node, lease: KubeObject | undefined): number {
  const times = [
    Date.parse((lease?.spec as { renewTime?: string } | undefined)?.renewTime ?? ""),
    Date.parse(findCondition(node.status?.conditions, "Ready")?.lastHeartbeatTime ?? ""),
    Date.parse(node.metadata.creationTimestamp ?? ""),
  ].filter(Number.isFinite);
  return times.length ? Math.max(...times) : 0;
}

/**
 * Is every node down (silent past the grace period, or not Ready)? Then the
 * likelier fault is the control plane's own (it could not hear anyone), and
 * kube's node lifecycle controller enters "master disruption" mode: no
 * NoExecute taints and no evictions until some node is heard again. Worked
 * out once per pass (deps), not once per node.
 */
function allNodesDown(deps: Deps, now: Date): Promise<boolean> {
  let answer = allDownByPass.get(deps);
  if (!answer) {
    answer = (async () => {
      const nodes = await deps.cache.list<Node>(R.nodes);
      const grace = deps.config.nodeMonitorGracePeriodSeconds * 1000;
      for (const n of nodes) {
        const lease = await deps.cache.get(R.leases, LEASE_NAMESPACE, n.metadata.name ?? "");
        const heard = now.getTime() <= lastHeartbeat(n, lease) + grace;
        if (heard && findCondition(n.status?.conditions, "Ready")?.status === "True") return false;
      }
      return nodes.length > 0;
    })();
    allDownByPass.set(deps, answer);
  }
  return answer;
}
const allDownByPass = new WeakMap<Deps, Promise<boolean>>();

function wantedTaints(node: Node, unreachable: boolean, now: Date, noExecute = true): Taint[] {
  const others = (node.spec?.taints ?? []).filter((t) => t.key !== UNREACHABLE && t.key !== NOT_READY);
  const ready = findCondition(node.status?.conditions, "Ready")?.status;
  const key = unreachable ? UNREACHABLE : ready === "True" ? undefined : NOT_READY;
  if (!key) return others;
  const existing = (node.spec?.taints ?? []).filter((t) => t.key === key);
  const keep = (effect: Taint["effect"]): Taint =>
    existing.find((t) => t.effect === effect) ?? {
      key,
      effect,
      ...(effect === "NoExecute" ? { timeAdded: timestamp(now) } : {}),
    };
  return noExecute ? [...others, keep("NoSchedule"), keep("NoExecute")] : [...others, keep("NoSchedule")];
}

const sameTaints = (a: Taint[], b: Taint[]) => JSON.stringify(a) === JSON.stringify(b);

/** Mark every condition Unknown as the node lifecycle controller does when the kubelet goes silent. */
function unknownConditions(conditions: Condition[] | undefined, now: Date): Condition[] {
  const at = timestamp(now);
  const list = conditions?.length ? conditions : [{ type: "Ready", status: "Unknown" as const }];
  return list.map((c) =>
    c.status === "Unknown"
      ? c
      : {
          ...c,
          status: "Unknown",
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
          lastTransitionTime: at,
        },
  );
}

/** Evict pods whose toleration of the node's NoExecute taints has run out; returns when to look again (ms). */
async function evictPods(deps: Deps, node: Node, taints: Taint[], now: Date): Promise<number | undefined> {
  const noExecute = taints.filter((t) => t.effect === "NoExecute");
  if (noExecute.length === 0) return undefined;
  const pods = (await deps.cache.list<Pod>(R.pods)).filter(
    (p) => p.spec.nodeName === node.metadata.name && !isTerminal(p),
  );
  let next: number | undefined;
  for (const pod of pods) {
    let evictAt = -Infinity;
    for (const taint of noExecute) {
      const toleration = pod.spec.tolerations?.find((t) => tolerates(t, taint));
      const added = Date.parse(taint.timeAdded ?? "") || now.getTime();
      let seconds: number | undefined;
      if (toleration) seconds = toleration.tolerationSeconds;
      // No toleration for the node-health taints: DefaultTolerationSeconds' 300 s (configurable) applies.
      else if (taint.key === UNREACHABLE || taint.key === NOT_READY)
        seconds = deps.config.podEvictionTimeoutSeconds;
      else seconds = 0;
      const at = seconds === undefined ? Infinity : added + seconds * 1000;
      evictAt = Math.max(evictAt, at);
    }
    if (evictAt === Infinity) continue;
    if (evictAt > now.getTime()) {
      next = Math.min(next ?? Infinity, evictAt);
      continue;
    }
    // The node cannot confirm termination, so the pod is removed at once and its owner replaces it elsewhere.
    try {
      await deps.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name ?? "", {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
      await deps.recorder.event(
        { apiVersion: "v1", kind: "Pod", ...pod },
        "Normal",
        "TaintManagerEviction",
        `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
      );
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
    }
  }
  return next;
}

/** Reconcile one node (key = node name). */
export async function reconcileNode(key: string, deps: Deps): Promise<Result | undefined> {
  const cached = await deps.cache.get<Node>(R.nodes, undefined, key);
  if (!cached) return undefined;
  let node = { apiVersion: "v1", kind: "Node", ...clone(cached) } as Node;
  const lease = await deps.cache.get(R.leases, LEASE_NAMESPACE, key);
  const now = deps.now();
  const grace = deps.config.nodeMonitorGracePeriodSeconds * 1000;
  const silentUntil = lastHeartbeat(node, lease) + grace;
  const unreachable = now.getTime() > silentUntil;

  if (unreachable && findCondition(node.status?.conditions, "Ready")?.status !== "Unknown") {
    const status = { ...node.status, conditions: unknownConditions(node.status?.conditions, now) };
    node = await deps.client.update<Node>(R.nodes, undefined, { ...node, status }, { subresource: "status" });
    await deps.recorder.event(node, "Normal", "NodeNotReady", `Node ${key} status is now: NodeNotReady`);
  }
  const disrupted = await allNodesDown(deps, now);
  const taints = wantedTaints(node, unreachable, now, !disrupted);
  if (!sameTaints(taints, node.spec?.taints ?? [])) {
    const patch = { spec: { taints: taints.length ? taints : null } };
    node = await deps.client.patch<Node>(R.nodes, undefined, key, "merge", patch);
  }
  const evictNext = disrupted ? undefined : await evictPods(deps, node, taints, now);
  const checks = [evictNext, unreachable ? undefined : silentUntil + 1].filter(
    (t): t is number => t !== undefined,
  );
  if (checks.length === 0) return undefined;
  return { requeueAfterMs: Math.max(0, Math.min(...checks) - now.getTime()) };
}

/** The node lifecycle controller. Lease renewals do not wake it (too frequent); its timers do. */
export const nodeLifecycleController: Controller = {
  name: "nodelifecycle",
  watches: ["/nodes"],
  keys: async (deps) => (await deps.cache.list(R.nodes)).map((n) => n.metadata?.name ?? ""),
  reconcile: reconcileNode,
};
