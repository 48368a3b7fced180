/**
 * Garbage collector: follows ownerReferences.
 *  - background: a dependent whose owners are all gone is deleted; dangling
 *    references next to a live owner are removed;
 *  - foreground: an owner carrying the foregroundDeletion finalizer has its
 *    dependents deleted first, then loses the finalizer (and so goes away);
 *  - orphan: an owner carrying the orphan finalizer has its references removed
 *    from its dependents, then loses the finalizer.
 * An owner is only declared gone after a live GET (the pass's lists may be a
 * moment old), and deletes carry the dependent's UID as a precondition.
 */
import type { KubeObject, OwnerReference, ResourceRef } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";

/** Kinds the collector knows how to look up, by "apiVersion/kind" of an ownerReference. */
const KINDS: Record<string, ResourceRef> = {
  "v1/Pod": R.pods,
  "v1/Node": R.nodes,
  "v1/Service": R.services,
  "v1/ConfigMap": R.configmaps,
  "v1/Secret": R.secrets,
  "v1/ServiceAccount": R.serviceaccounts,
  "apps/v1/Deployment": R.deployments,
  "apps/v1/ReplicaSet": R.replicasets,
  "apps/v1/StatefulSet": R.statefulsets,
  "apps/v1/DaemonSet": R.daemonsets,
  "apps/v1/ControllerRevision": R.controllerrevisions,
  "batch/v1/Job": R.jobs,
  "batch/v1/CronJob": R.cronjobs,
};

/** Resources scanned for dependents. */
const SCANNED: ResourceRef[] = [
  R.pods,
  R.replicasets,
  R.deployments,
  R.statefulsets,
  R.daemonsets,
  R.controllerrevisions,
  R.jobs,
  R.cronjobs,
  R.endpointslices,
  R.services,
  R.configmaps,
  R.secrets,
  R.leases,
  R.nodes,
];

interface Item {
  ref: ResourceRef;
  object: KubeObject;
}

async function listAll(deps: Deps): Promise<Item[]> {
  const lists = await Promise.all(
    SCANNED.map(async (ref) => {
      // A resource the server does not serve simply has no dependents.
      const items = await deps.cache.list(ref).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 404) return [];
        throw error;
      });
      return items.map((object) => ({ ref, object }));
    }),
  );
  return lists.flat();
}

const ignoreNotFound = (error: unknown) => {
  if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
};

/** Is the owner named by this reference really gone (or replaced by a different UID)? */
async function ownerGone(deps: Deps, ref: OwnerReference, namespace: string | undefined): Promise<boolean> {
  const resource = KINDS[`${ref.apiVersion}/${ref.kind}`];
  if (!resource) return false; // unknown kind: never collect on a guess
  try {
    const owner = await deps.client.get(resource, resource.namespaced ? namespace : undefined, ref.name);
    return owner.metadata?.uid !== ref.uid;
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) return true;
    throw error;
  }
}

async function setOwners(deps: Deps, item: Item, owners: OwnerReference[]): Promise<void> {
  const meta = item.object.metadata ?? {};
  const patch = { metadata: { uid: meta.uid, ownerReferences: owners.length ? owners : null } };
  await deps.client.patch(item.ref, meta.namespace, meta.name ?? "", "merge", patch).catch(ignoreNotFound);
}

async function removeFinalizer(deps: Deps, item: Item, finalizer: string): Promise<void> {
  const meta = item.object.metadata ?? {};
  const rest = (meta.finalizers ?? []).filter((f) => f !== finalizer);
  const patch = { metadata: { uid: meta.uid, finalizers: rest.length ? rest : null } };
  await deps.client.patch(item.ref, meta.namespace, meta.name ?? "", "merge", patch).catch(ignoreNotFound);
}

async function remove(deps: Deps, item: Item, policy: "Background" | "Foreground"): Promise<void> {
  const meta = item.object.metadata ?? {};
  await deps.client
    .delete(item.ref, meta.namespace, meta.name ?? "", {
      propagationPolicy: policy,
      preconditions: { uid: meta.uid },
    })
    .catch(ignoreNotFound);
}

/** One collection sweep over every scanned resource. */
export async function collect(deps: Deps): Promise<Result | undefined> {
  const items = await listAll(deps);
  const byOwner = new Map<string, Item[]>();
  for (const item of items) {
    for (const ref of item.object.metadata?.ownerReferences ?? []) {
      const list = byOwner.get(ref.uid) ?? [];
      list.push(item);
      byOwner.set(ref.uid, list);
    }
  }
  const uids = new Set(items.map((i) => i.object.metadata?.uid));
  let waiting = false;

  for (const item of items) {
    const meta = item.object.metadata ?? {};
    if (!meta.deletionTimestamp) continue;
    const dependents = byOwner.get(meta.uid ?? "") ?? [];
    if (meta.finalizers?.includes("orphan")) {
      for (const dep of dependents) {
        const rest = (dep.object.metadata?.ownerReferences ?? []).filter((r) => r.uid !== meta.uid);
        await setOwners(deps, dep, rest);
      }
      await removeFinalizer(deps, item, "orphan");
    } else if (meta.finalizers?.includes("foregroundDeletion")) {
      const blocking = dependents.filter((d) =>
        d.object.metadata?.ownerReferences?.some((r) => r.uid === meta.uid && r.blockOwnerDeletion),
      );
      for (const dep of dependents)
        if (!dep.object.metadata?.deletionTimestamp) await remove(deps, dep, "Foreground");
      if (blocking.length === 0) await removeFinalizer(deps, item, "foregroundDeletion");
      else waiting = true;
    }
  }

  for (const item of items) {
    const meta = item.object.metadata ?? {};
    const refs = meta.ownerReferences ?? [];
    if (refs.length === 0 || meta.deletionTimestamp) continue;
    const gone: OwnerReference[] = [];
    for (const ref of refs) {
      if (uids.has(ref.uid)) continue;
      if (await ownerGone(deps, ref, meta.namespace)) gone.push(ref);
    }
    if (gone.length === 0) continue;
    if (gone.length === refs.length) await remove(deps, item, "Background");
    else
      await setOwners(
        deps,
        item,
        refs.filter((r) => !gone.includes(r)),
      );
  }
  // Foreground deletions wait on dependents that are terminating; look again shortly.
  return waiting ? { requeueAfterMs: 2000 } : undefined;
}

/** The garbage collector (one key: the whole graph). */
export const garbageCollector: Controller = {
  name: "garbagecollector",
  // Owners appear, change (deletionTimestamp, finalizers) or go; pods, leases and nodes change far more
  // often (status, renewals) but only their deletions can leave dependents behind.
  watches: SCANNED.map((r) =>
    r === R.pods || r === R.leases || r === R.nodes
      ? `${r.group}/${r.resource}:DELETED`
      : `${r.group}/${r.resource}`,
  ),
  keys: async () => ["graph"],
  reconcile: (_key, deps) => collect(deps),
};
