/**
 * Namespace lifecycle: a namespace being deleted (Terminating) is emptied of
 * every namespaced resource the server serves (found through discovery), and
 * once empty its "kubernetes" finalizer is removed through the finalize
 * subresource, after which the API server deletes it.
 */
import type { KubeObject, ResourceRef } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";

interface ApiResource {
  name: string;
  namespaced: boolean;
  verbs?: string[];
}

/** Every namespaced resource that supports list+delete, from discovery; falls back to the well-known ones. */
async function namespacedResources(deps: Deps): Promise<ResourceRef[]> {
  const fallback = Object.values(R).filter((r) => r.namespaced);
  try {
    const groupVersions: string[] = ["v1"];
    const apis = (await (await deps.client.request("/apis")).json()) as {
      groups?: { preferredVersion?: { groupVersion: string } }[];
    };
    for (const g of apis.groups ?? [])
      if (g.preferredVersion) groupVersions.push(g.preferredVersion.groupVersion);
    const out: ResourceRef[] = [];
    for (const gv of groupVersions) {
      const path = gv === "v1" ? "/api/v1" : `/apis/${gv}`;
      const response = await deps.client.request(path);
      if (!response.ok) continue;
      const list = (await response.json()) as { resources?: ApiResource[] };
      const [group, version] = gv.includes("/") ? gv.split("/") : ["", gv];
      for (const r of list.resources ?? []) {
        if (!r.namespaced || r.name.includes("/")) continue;
        if (!r.verbs?.includes("list") || !r.verbs.includes("delete")) continue;
        // Events are history, not content: kube deletes them too, but last; we simply include them.
        out.push({ group, version, resource: r.name, namespaced: true });
      }
    }
    return out.length ? out : fallback;
  } catch {
    return fallback;
  }
}

/** Reconcile one namespace (key = its name). */
export async function reconcileNamespace(key: string, deps: Deps): Promise<Result | undefined> {
  const ns = await deps.cache.get(R.namespaces, undefined, key);
  if (!ns?.metadata?.deletionTimestamp) return undefined;
  let remaining = 0;
  for (const ref of await namespacedResources(deps)) {
    let items: KubeObject[];
    try {
      items = (await deps.client.list(ref, key)).items;
    } catch (error) {
      if (error instanceof ApiError && (error.code === 404 || error.code === 405)) continue;
      throw error;
    }
    for (const item of items) {
      remaining++;
      if (item.metadata?.deletionTimestamp) continue;
      await deps.client.delete(ref, key, item.metadata?.name ?? "").catch((error: unknown) => {
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
      });
    }
  }
  if (remaining > 0) return { requeueAfterMs: 2000 };
  const spec = (ns.spec ?? {}) as { finalizers?: string[] };
  const ignore =
    (...codes: number[]) =>
    (error: unknown) => {
      if (!(error instanceof ApiError && codes.includes(error.code))) throw error;
    };
  if (spec.finalizers?.includes("kubernetes")) {
    const finalized = {
      ...ns,
      spec: { ...spec, finalizers: spec.finalizers.filter((f) => f !== "kubernetes") },
    };
    await deps.client
      .update(R.namespaces, undefined, finalized, { subresource: "finalize" })
      .catch(ignore(404));
  }
  // Deleting again is idempotent; an API server that removes empty Terminating namespaces on DELETE
  // (rather than on finalize) needs it to let go. 409 = still finishing, 404 = gone.
  await deps.client.delete(R.namespaces, undefined, key).catch(ignore(404, 409));
  return undefined;
}

/** The namespace lifecycle controller. */
export const namespaceController: Controller = {
  name: "namespace",
  watches: ["/namespaces"],
  keys: async (deps) =>
    (await deps.cache.list(R.namespaces))
      .filter((n) => n.metadata?.deletionTimestamp)
      .map((n) => n.metadata?.name ?? ""),
  reconcile: reconcileNamespace,
};
