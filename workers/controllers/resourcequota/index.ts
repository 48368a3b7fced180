/**
 * ResourceQuota controller (kube's pkg/controller/resourcequota): recount
 * what each quota's namespace uses of every resource its spec.hard names,
 * from the informer caches, and publish status.hard (= spec.hard) and
 * status.used. Admission charges creates at once; this recount is what
 * frees usage after deletions (and corrects any charge for a create that
 * failed later). Resources counted: see reconcile/quota.ts; a count/<x> of a
 * resource the controllers do not cache is left out of status.used.
 */
import type { KubeObject, ResourceRef } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { ResourceQuota } from "../../client/types.ts";
import { keyOf, splitKey } from "../../reconcile/k8s.ts";
import { countName, emptyUsage, formatUsage, scopesMatch, usageOf } from "../../reconcile/quota.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { ALL_KEYS } from "../../reconcile/types.ts";

type Quota = ResourceQuota & KubeObject;

/** Resources counted by count/<resource>[.<group>]: every resource the controllers cache. */
const BY_COUNT = new Map<string, ResourceRef>(
  Object.values(R)
    .filter((ref) => ref.namespaced)
    .map((ref) => [countName(ref.group, ref.resource), ref]),
);

/** The cached resource a quota's resource name is counted from. */
function sourceOf(name: string): ResourceRef | undefined {
  const counted = BY_COUNT.get(name);
  if (counted) return counted;
  if (name === "pods" || name === "cpu" || name === "memory" || name === "ephemeral-storage") return R.pods;
  if (name.startsWith("requests.") || name.startsWith("limits."))
    return name === "requests.storage" ? R.persistentvolumeclaims : R.pods;
  if (name === "services" || name.startsWith("services.")) return R.services;
  const legacy: Record<string, ResourceRef> = {
    configmaps: R.configmaps,
    secrets: R.secrets,
    persistentvolumeclaims: R.persistentvolumeclaims,
    replicationcontrollers: R.replicationcontrollers,
    resourcequotas: R.resourcequotas,
  };
  return legacy[name];
}

/**
 * How many objects of a count/<resource>[.<group>] the controllers do not
 * cache (custom resources, rarer core kinds) the namespace holds: one paged
 * list through the API at the group's preferred version; 0 when not served.
 */
async function countUncached(name: string, namespace: string | undefined, deps: Deps): Promise<number> {
  const spec = name.slice("count/".length);
  const dot = spec.indexOf(".");
  const resource = dot < 0 ? spec : spec.slice(0, dot);
  const group = dot < 0 ? "" : spec.slice(dot + 1);
  let version = "v1";
  if (group) {
    const response = await deps.client.request(`/apis/${group}`).catch(() => undefined);
    if (!response?.ok) return 0;
    const doc = (await response.json()) as { preferredVersion?: { version?: string } };
    if (!doc.preferredVersion?.version) return 0;
    version = doc.preferredVersion.version;
  }
  const ref: ResourceRef = { group, version, resource, namespaced: true };
  let count = 0;
  let next: string | undefined;
  do {
    const page = await deps.client
      .list(ref, namespace, { limit: 500, continue: next })
      .catch((error: unknown) => {
        // Not served (or not namespaced): nothing of it can exist in the namespace.
        if (error instanceof ApiError && (error.code === 404 || error.code === 405)) return undefined;
        throw error;
      });
    if (!page) return 0;
    count += page.items.length;
    next = page.metadata?.continue || undefined;
  } while (next);
  return count;
}

/** Reconcile one quota ("namespace/name"). */
export async function reconcileQuota(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const quota = await deps.cache.get<Quota>(R.resourcequotas, namespace, name);
  if (!quota) return undefined;
  const hard = quota.spec?.hard ?? {};
  const scopes = quota.spec?.scopes ?? [];
  const usage = emptyUsage();
  const byRef = new Map<ResourceRef, string[]>();
  for (const resourceName of Object.keys(hard)) {
    const ref = sourceOf(resourceName);
    if (ref) byRef.set(ref, [...(byRef.get(ref) ?? []), resourceName]);
  }
  const now = deps.now();
  for (const ref of byRef.keys())
    for (const object of await deps.cache.list(ref)) {
      if (object.metadata?.namespace !== namespace) continue;
      if (!scopesMatch(scopes, ref.group, ref.resource, object)) continue;
      const u = usageOf(ref.group, ref.resource, object, now);
      for (const [k, v] of Object.entries(u.amounts)) usage.amounts[k] = (usage.amounts[k] ?? 0) + v;
      for (const k of u.binary) usage.binary.add(k);
    }
  const uncached = Object.keys(hard).filter((k) => k.startsWith("count/") && !sourceOf(k));
  for (const k of uncached) usage.amounts[k] = await countUncached(k, namespace, deps);
  const counted = [...byRef.values()].flat().concat(uncached).sort();
  const status = { hard: { ...hard }, used: formatUsage(usage, counted, hard) };
  if (JSON.stringify(status) === JSON.stringify({ hard: quota.status?.hard, used: quota.status?.used }))
    return undefined;
  const body = { ...quota, apiVersion: "v1", kind: "ResourceQuota", status } as KubeObject;
  await deps.client.update(R.resourcequotas, namespace, body, { subresource: "status" });
  return undefined;
}

/** The ResourceQuota controller. */
export const resourceQuotaController: Controller = {
  name: "resourcequota",
  // Creates are charged by admission; what the recount must see is deletions, pods finishing, quota changes.
  watches: [
    "/resourcequotas",
    "/pods",
    "/services:DELETED",
    "/configmaps:DELETED",
    "/secrets:DELETED",
    "/persistentvolumeclaims:DELETED",
    "/replicationcontrollers:DELETED",
    "apps/deployments:DELETED",
    "apps/replicasets:DELETED",
    "apps/statefulsets:DELETED",
    "batch/jobs:DELETED",
    "batch/cronjobs:DELETED",
  ],
  keys: async (deps) => (await deps.cache.list(R.resourcequotas)).map(keyOf),
  keysFor: (event) => (event.resource === "/resourcequotas" ? [keyOf(event.object)] : [ALL_KEYS]),
  reconcile: reconcileQuota,
};
