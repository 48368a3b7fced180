/**
 * The scheduler as a controller: one key ("pending") whose reconcile runs a
 * scheduling pass over the cached lists, binds the decisions through
 * pods/binding in parallel batches, and marks the rest Unschedulable.
 */

import { R } from "../client/resources.ts";
import { ApiError } from "../client/status.ts";
import {
  type Condition,
  clone,
  findCondition,
  isTerminal,
  type Node,
  type Pod,
  setCondition,
} from "../reconcile/k8s.ts";
import { forEachPulled } from "../reconcile/pool.ts";
import type { Controller, Deps, Recorder, Result } from "../reconcile/types.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../reconcile/volumes.ts";
import { ClusterState } from "./cluster-state.ts";
import { queuedRecorder } from "./events.ts";
import { preemptVictims } from "./preempt-writes.ts";
import { eligibleToPreempt, type PodDisruptionBudget } from "./preemption.ts";
import { isPending, queueOrder, type RuntimeClass, Scheduler } from "./schedule.ts";
import { selectNodePatch, type VolumeCheck, volumeCheck } from "./volumes.ts";

/** Bind a pod to a node through the pods/binding subresource (its delayed claims first get the node). */
async function bindPod(
  deps: Deps,
  events: Recorder,
  pod: Pod,
  node: string,
  volumes: VolumeCheck,
): Promise<void> {
  const { namespace, name } = pod.metadata;
  const needs = volumes(pod);
  // kube's VolumeBinding PreBind: the provisioner must know where before the pod lands there.
  for (const claim of typeof needs === "string" ? [] : needs.delayed)
    await deps.client.patch(
      R.persistentvolumeclaims,
      namespace,
      claim.metadata.name ?? "",
      "merge",
      selectNodePatch(node),
    );
  const binding = {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name, namespace, uid: pod.metadata.uid },
    target: { apiVersion: "v1", kind: "Node", name: node },
  };
  await deps.client.create(R.pods, namespace, binding, { name, subresource: "binding" });
  // kube-scheduler's "assume": count the pod on its node until the watch shows the binding.
  deps.cache.assume(R.pods, { ...pod, spec: { ...pod.spec, nodeName: node } });
  await events.event(pod, "Normal", "Scheduled", `Successfully assigned ${namespace}/${name} to ${node}`);
}

/**
 * Record PodScheduled=False/Unschedulable (only when it or the nominated node changed, so passes stay
 * quiet) and a FailedScheduling Event; `nominated` is the node a preemption freed room on.
 */
async function markUnschedulable(deps: Deps, pod: Pod, message: string, nominated?: string): Promise<void> {
  const old = findCondition(pod.status?.conditions, "PodScheduled");
  const same = old?.status === "False" && old.reason === "Unschedulable" && old.message === message;
  if (same && (nominated === undefined || pod.status?.nominatedNodeName === nominated)) return;
  const next = clone(pod);
  const condition: Condition = {
    type: "PodScheduled",
    status: "False",
    reason: "Unschedulable",
    message,
    lastProbeTime: null,
  };
  next.status = { ...next.status, phase: next.status?.phase ?? "Pending" };
  if (nominated !== undefined) next.status.nominatedNodeName = nominated;
  next.status.conditions = setCondition(next.status.conditions, condition, deps.now());
  const written = await deps.client.update(R.pods, pod.metadata.namespace, next, { subresource: "status" });
  // The next pass must see the nomination even before the watch does, or it would preempt again.
  if (nominated !== undefined) deps.cache.wrote(R.pods, written, false);
  if (!same) await deps.recorder.event(pod, "Warning", "FailedScheduling", message);
}

/** Has this scheduler already found no node for the pod (and said so)? */
function markedUnschedulable(pod: Pod): boolean {
  const c = findCondition(pod.status?.conditions, "PodScheduled");
  return c?.status === "False" && c.reason === "Unschedulable";
}

/**
 * kube-scheduler's unschedulable queue, reduced to what a stateless pass
 * needs: the cluster as it was when pods were last found not to fit. Pods
 * already marked Unschedulable are tried again only when that may have
 * changed (a node or RuntimeClass changed, a bound pod went away) or after
 * RETRY_UNSCHEDULABLE_MS (kube: 5 min), not on every new pod: otherwise a
 * thousand pods that fit nowhere would be re-filtered against every node on
 * each pass. Kept per long-lived cache (the manager's informers, whose list
 * arrays only change identity when their contents do); a per-pass Snapshot
 * has no history, so every pod is tried.
 */
interface ClusterSeen {
  nodes: Node[];
  classes: RuntimeClass[];
  /** A claim created or bound may make a pod waiting for it fit. */
  claims: PersistentVolumeClaim[];
  /** Bound, unfinished pods after the pass (with the bindings it made). */
  bound: number;
  at: number;
}
const seen = new WeakMap<object, ClusterSeen>();
/** The node accounting per long-lived cache, brought up to date by each pass (a Snapshot gets a fresh one). */
const states = new WeakMap<object, ClusterState>();
export const RETRY_UNSCHEDULABLE_MS = 60_000;

const isBound = (p: Pod) => !!p.spec?.nodeName && !isTerminal(p);
const keyOf = (p: Pod) => `${p.metadata.namespace ?? ""}/${p.metadata.name ?? ""}`;
/** How long a pass keeps taking in pods created after it started (then the round ends and others run). */
const PASS_PULLS_FOR_MS = 1000;
/** The least time between two looks at the pod list for new pods within a pass. */
const PULL_GAP_MS = 5;

/** One scheduling pass over every pending pod. Throws (so the pass is retried) if a write failed for a reason other than a lost race. */
export async function schedulePending(deps: Deps): Promise<Result | undefined> {
  const pods = await deps.cache.list<Pod>(R.pods);
  const pending = pods.filter(isPending);
  if (pending.length === 0) return undefined;
  // RuntimeClass and the storage kinds are optional: a server without them just has none.
  const optional = <T>(p: Promise<T[]>) => p.catch(() => [] as T[]);
  const [nodes, runtimeClasses, claims, volumes, storageClasses] = await Promise.all([
    deps.cache.list<Node>(R.nodes),
    optional(deps.cache.list<RuntimeClass>(R.runtimeclasses)),
    optional(deps.cache.list<PersistentVolumeClaim>(R.persistentvolumeclaims)),
    optional(deps.cache.list<PersistentVolume>(R.persistentvolumes)),
    optional(deps.cache.list<StorageClass>(R.storageclasses)),
  ]);
  const volumeNeeds = volumeCheck(claims, volumes, storageClasses);
  const now = deps.now().getTime();
  const bound = pods.filter(isBound).length;
  const last = seen.get(deps.cache);
  const retry =
    !last ||
    last.nodes !== nodes ||
    last.classes !== runtimeClasses ||
    last.claims !== claims ||
    bound < last.bound ||
    now - last.at >= RETRY_UNSCHEDULABLE_MS;
  const queue = (retry ? pending : pending.filter((p) => !markedUnschedulable(p))).sort(queueOrder);
  const classes = new Map(runtimeClasses.map((rc) => [rc.metadata?.name ?? "", rc]));
  const state = states.get(deps.cache) ?? new ClusterState();
  states.set(deps.cache, state);
  const scheduler = new Scheduler(nodes, pods, { runtimeClasses: classes, volumes: volumeNeeds }, state);
  let binds = 0;
  // Budgets are read only when some pod needs preemption (and only if the server serves policy/v1 PDBs).
  let budgets: Promise<PodDisruptionBudget[]> | undefined;
  const pdbs = () => {
    budgets ??= optional(deps.cache.list<PodDisruptionBudget>(R.poddisruptionbudgets));
    return budgets;
  };
  const events = queuedRecorder(deps.recorder, deps.config.writeConcurrency);
  // Pods created while the pass runs join it (kube's scheduling loop pops its queue while bindings run),
  // for up to PASS_PULLS_FOR_MS; pods this pass decided once are left to the next pass.
  // The pass keeps the accounting it started with (plus its own decisions): pods deleted or nodes changed
  // meanwhile are seen by the next pass, which follows at most PASS_PULLS_FOR_MS later.
  const tried = new Set(queue.map(keyOf));
  let listed = pods;
  let scanned = now;
  const more = async (): Promise<Pod[]> => {
    if (deps.now().getTime() - now > PASS_PULLS_FOR_MS) return [];
    // Every binding changes the pod list (the assumed copy): scan it at most once per PULL_GAP_MS.
    const since = deps.now().getTime() - scanned;
    if (since < PULL_GAP_MS) await new Promise((resolve) => setTimeout(resolve, PULL_GAP_MS - since));
    scanned = deps.now().getTime();
    const latest = await deps.cache.list<Pod>(R.pods);
    if (latest === listed) return [];
    listed = latest;
    const fresh = latest.filter((p) => isPending(p) && !tried.has(keyOf(p)) && !markedUnschedulable(p));
    for (const p of fresh) tried.add(keyOf(p));
    return fresh.sort(queueOrder);
  };
  // A pipeline: each pod is decided (and assumed onto its node) when a binding slot frees up, so
  // decisions see every earlier one and bindings flow without waiting for a whole batch.
  const place = async (pod: Pod) => {
    const d = scheduler.scheduleOne(pod);
    try {
      if (d.node !== undefined) {
        binds++;
        await bindPod(deps, events, d.pod, d.node, volumeNeeds);
      } else if (eligibleToPreempt(d.pod, scheduler)) {
        const budgetList = await pdbs();
        const preemption = scheduler.preempt(d.pod, budgetList);
        if (preemption) await preemptVictims(deps, d.pod, preemption);
        await markUnschedulable(deps, d.pod, d.message, preemption?.node);
      } else await markUnschedulable(deps, d.pod, d.message);
    } catch (error) {
      // The pod was counted on its node when decided: a binding that did not happen frees that room.
      if (d.node !== undefined) scheduler.forget(d.pod);
      // Already bound, deleted, or changed since our list: the next pass sees the truth.
      if (error instanceof ApiError && (error.code === 409 || error.code === 404)) return;
      throw error;
    }
  };
  const errors = await forEachPulled(queue, deps.config.bindConcurrency, more, place);
  // The pass ends once its Events are written, taking in pods created meanwhile; past PASS_PULLS_FOR_MS it
  // ends at once and the rest of its Events are written behind it (the recorder never throws).
  while (events.busy() && deps.now().getTime() - now <= PASS_PULLS_FOR_MS) {
    const fresh = await more();
    if (fresh.length) errors.push(...(await forEachPulled(fresh, deps.config.bindConcurrency, more, place)));
    else await Promise.race([events.drain(), new Promise((resolve) => setTimeout(resolve, PULL_GAP_MS))]);
  }
  if (errors.length) throw errors[0];
  const at = retry ? now : (last?.at ?? now);
  seen.set(deps.cache, { nodes, classes: runtimeClasses, claims, bound: bound + binds, at });
  // Pods left out wait for a change or for the retry period.
  return queue.length < pending.length ? { requeueAfterMs: at + RETRY_UNSCHEDULABLE_MS - now } : undefined;
}

/** The scheduler, run by the controller manager like any controller. */
export const schedulerController: Controller = {
  name: "scheduler",
  watches: [
    "/pods",
    "/nodes",
    "node.k8s.io/runtimeclasses",
    "/persistentvolumeclaims",
    "/persistentvolumes",
    "storage.k8s.io/storageclasses",
  ],
  keys: async () => ["pending"],
  reconcile: (_key, deps) => schedulePending(deps),
};
