/**
 * DaemonSet controller: one pod per eligible node (nodeSelector, required
 * node affinity, taints), placed through the scheduler by pinning each pod
 * to its node with a matchFields affinity (as kube's controller does);
 * RollingUpdate replaces old pods at most maxUnavailable at a time, OnDelete
 * leaves them alone; status as `kubectl rollout status` reads it. Each
 * template is kept as a ControllerRevision (history.ts) for `kubectl rollout
 * history/undo`; pods carry its hash in `controller-revision-hash`.
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import {
  canonicalJson,
  clone,
  controllerRef,
  isActive,
  isAvailable,
  isReady,
  keyOf,
  type LabelSelector,
  type Node,
  type Pod,
  type PodTemplate,
  splitKey,
  type Toleration,
} from "../../reconcile/k8s.ts";
import { PLACEMENT_FILTERS, type PodInfo } from "../../reconcile/placement/filters.ts";
import { NodeInfo } from "../../reconcile/placement/node-info.ts";
import { podRequests } from "../../reconcile/placement/resources.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { currentRevision, ownedRevisions, REVISION_HASH_LABEL, truncateHistory } from "../history.ts";
import { ownerKeys } from "../keys.ts";
import { createExpected, deletePods, podFromTemplate } from "../pods.ts";

/** A DaemonSet (apps/v1). */
export interface DaemonSet extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    selector: LabelSelector;
    template: PodTemplate;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    updateStrategy?: {
      type?: "RollingUpdate" | "OnDelete";
      rollingUpdate?: { maxUnavailable?: number | string };
    };
  };
  status?: { collisionCount?: number; [field: string]: unknown };
}

const REVISION_LABEL = REVISION_HASH_LABEL;

/** Tolerations every daemon pod gets (kube's daemon controller adds them). */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

/** The node a daemon pod is for: its nodeName, or the node its pinning affinity names. */
export function targetNode(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return terms?.[0]?.matchFields?.find((f) => f.key === "metadata.name")?.values?.[0];
}

/** Should a daemon pod run on this node (selector, affinity, taints; not resources)? */
function shouldRun(ds: DaemonSet, node: Node): boolean {
  const pod: Pod = { metadata: {}, spec: ds.spec.template.spec };
  const info: PodInfo = {
    pod,
    requests: podRequests(pod),
    nodeSelector: { ...ds.spec.template.spec.nodeSelector },
    tolerations: [...(ds.spec.template.spec.tolerations ?? []), ...DAEMON_TOLERATIONS],
    hostPorts: [],
  };
  // Only placement constraints decide eligibility; capacity and readiness are the scheduler's business.
  const nodeInfo = new NodeInfo(node);
  return PLACEMENT_FILTERS.every((filter) => !filter(info, nodeInfo));
}

function pinnedTemplate(ds: DaemonSet, node: string, hash: string): PodTemplate {
  const template = clone(ds.spec.template);
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [REVISION_LABEL]: hash },
  };
  const spec = template.spec;
  spec.tolerations = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  spec.affinity = {
    ...spec.affinity,
    nodeAffinity: {
      ...spec.affinity?.nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }],
      },
    },
  };
  return template;
}

function maxUnavailable(ds: DaemonSet, desired: number): number {
  const v = ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  if (typeof v === "number") return Math.max(1, v);
  if (v.endsWith("%")) return Math.max(1, Math.floor((Number.parseInt(v, 10) * desired) / 100));
  return Math.max(1, Number.parseInt(v, 10) || 1);
}

/** Reconcile one DaemonSet ("namespace/name"). */
export async function reconcileDaemonSet(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const cached = await deps.cache.get<DaemonSet>(R.daemonsets, namespace, name);
  if (!cached || cached.metadata.deletionTimestamp) return undefined;
  const ds = { apiVersion: "apps/v1", kind: "DaemonSet", ...clone(cached) } as DaemonSet;
  // The revision first (as kube's constructHistory does): its hash labels the pods created below.
  const revisions = await ownedRevisions(deps, ds);
  const revision = await currentRevision(deps, R.daemonsets, ds, revisions);
  const hash = revision.metadata.labels?.[REVISION_LABEL] ?? "";
  const nodes = await deps.cache.list<Node>(R.nodes);
  const pods = (await deps.cache.list<Pod>(R.pods)).filter(
    (p) => p.metadata.namespace === namespace && controllerRef(p)?.uid === ds.metadata.uid && isActive(p),
  );
  const byNode = new Map<string, Pod[]>();
  for (const p of pods) {
    const n = targetNode(p) ?? "";
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const eligible = nodes.filter((n) => shouldRun(ds, n));
  const eligibleNames = new Set(eligible.map((n) => n.metadata.name ?? ""));
  const now = deps.now();
  const minReady = ds.spec.minReadySeconds ?? 0;

  const toCreate: string[] = [];
  const toDelete: Pod[] = [];
  for (const node of eligibleNames) {
    const here = byNode.get(node) ?? [];
    if (here.length === 0) toCreate.push(node);
    else if (here.length > 1) toDelete.push(...here.slice(1));
  }
  for (const [node, here] of byNode) if (!eligibleNames.has(node)) toDelete.push(...here);

  // Rolling update: replace old-revision pods, keeping at most maxUnavailable daemon pods unavailable.
  if ((ds.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
    const current = [...eligibleNames].map((n) => byNode.get(n)?.[0]).filter((p): p is Pod => Boolean(p));
    const unavailable = current.filter((p) => !isAvailable(p, minReady, now)).length + toCreate.length;
    let budget = maxUnavailable(ds, eligibleNames.size) - unavailable;
    const old = current.filter((p) => p.metadata.labels?.[REVISION_LABEL] !== hash);
    // Old pods that are not available anyway go first: replacing them costs no availability.
    for (const p of old.filter((p) => !isAvailable(p, minReady, now))) toDelete.push(p);
    for (const p of old.filter((p) => isAvailable(p, minReady, now))) {
      if (budget <= 0) break;
      toDelete.push(p);
      budget--;
    }
  }

  // Creations or deletions the cache has not shown yet: acting again would double them (expectations).
  if (deps.expectations.satisfied(ds.metadata.uid)) {
    deps.expectations.expectCreations(ds.metadata.uid, toCreate.length);
    for (const [i, node] of toCreate.entries()) {
      const pod = podFromTemplate(pinnedTemplate(ds, node, hash), ds);
      const created = await createExpected(deps, ds.metadata.uid, pod).catch((error: unknown) => {
        // The rest will not be sent: none of them will show up.
        for (let rest = i + 1; rest < toCreate.length; rest++)
          deps.expectations.creationObserved(ds.metadata.uid);
        throw error;
      });
      await deps.recorder.event(ds, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata?.name}`);
    }
    if (toDelete.length) await deletePods(deps, ds, toDelete);
  }
  // Revisions some pod still runs stay (kube's cleanupHistory counts the pods from the start of the sync).
  const liveHashes = pods.map((p) => p.metadata.labels?.[REVISION_LABEL] ?? "");
  await truncateHistory(deps, ds, revisions, new Set([revision.metadata.name ?? "", hash, ...liveHashes]));

  const running = [...eligibleNames].map((n) => byNode.get(n)?.[0]).filter((p): p is Pod => Boolean(p));
  const status = {
    ...ds.status,
    desiredNumberScheduled: eligibleNames.size,
    currentNumberScheduled: running.length,
    numberMisscheduled: [...byNode.keys()].filter((n) => n && !eligibleNames.has(n)).length,
    numberReady: running.filter(isReady).length,
    numberAvailable: running.filter((p) => isAvailable(p, minReady, now)).length,
    numberUnavailable: eligibleNames.size - running.filter((p) => isAvailable(p, minReady, now)).length,
    updatedNumberScheduled: running.filter((p) => p.metadata.labels?.[REVISION_LABEL] === hash).length,
    observedGeneration: ds.metadata.generation ?? 1,
  };
  if (canonicalJson(status) !== canonicalJson(ds.status ?? {})) {
    await deps.client.update(R.daemonsets, namespace, { ...ds, status }, { subresource: "status" });
  }
  return minReady > 0 && status.numberReady > status.numberAvailable
    ? { requeueAfterMs: minReady * 1000 }
    : undefined;
}

/** The DaemonSet controller. */
export const daemonSetController: Controller = {
  name: "daemonset",
  // Revisions too, so one deleted by hand is recreated (kube's daemonset controller watches them).
  watches: ["apps/daemonsets", "/pods", "/nodes", "apps/controllerrevisions"],
  keys: async (deps) => (await deps.cache.list(R.daemonsets)).map(keyOf),
  keysFor: ownerKeys("apps/daemonsets", "DaemonSet", ["/pods", "apps/controllerrevisions"]),
  reconcile: reconcileDaemonSet,
};
