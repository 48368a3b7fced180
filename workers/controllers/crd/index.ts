/**
 * Custom resource cleanup (apiextensions' finalizer controller): a CRD being
 * deleted is marked Terminating, every object of its kind is deleted, and
 * once none is left its customresourcecleanup finalizer is removed, after
 * which the API server removes the CRD. While it terminates, its resources
 * take no new objects (crd/rows.ts drops "create").
 */
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.js";
import type { KubeObject, ResourceRef } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";

type CRD = CustomResourceDefinition & KubeObject;

/** The finalizer this controller owns (kinds/customresourcedefinition.ts adds it at create). */
const FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

/** Where CRDs are served. */
export const CRDS: ResourceRef = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
  namespaced: false,
};

/** How soon to look again while objects are still going (their own finalizers may hold them). */
const RECHECK_MS = 1000;

function ignore(...codes: number[]) {
  return (error: unknown) => {
    if (!(error instanceof ApiError && codes.includes(error.code))) throw error;
  };
}

/** The CRD's custom resources, addressed through a served version (storage first). */
function resourceOf(crd: CRD): ResourceRef | undefined {
  const served = crd.spec.versions.filter((v) => v.served);
  const version = served.find((v) => v.storage) ?? served[0];
  if (!version) return undefined;
  return {
    group: crd.spec.group,
    version: version.name,
    resource: crd.spec.names.plural,
    namespaced: crd.spec.scope === "Namespaced",
  };
}

/** Write the Terminating condition once, as kube does, so `kubectl get crd -o yaml` shows why it lingers. */
async function markTerminating(crd: CRD, deps: Deps): Promise<void> {
  const conditions = crd.status?.conditions ?? [];
  if (conditions.some((c) => c.type === "Terminating" && c.status === "True")) return;
  const status = {
    ...crd.status,
    conditions: [
      ...conditions.filter((c) => c.type !== "Terminating"),
      {
        type: "Terminating",
        status: "True",
        reason: "InstanceDeletionInProgress",
        message: "CustomResource deletion is in progress",
        lastTransitionTime: timestamp(deps.now()),
      },
    ],
  };
  const result = await deps.client
    .update(CRDS, undefined, { ...structuredClone(crd), status }, { subresource: "status" })
    .catch(ignore(404, 409));
  if (result) deps.cache.wrote(CRDS, result, false);
}

/** Reconcile one CRD (key = its name). */
async function reconcileCRD(key: string, deps: Deps): Promise<Result | undefined> {
  const crd = await deps.cache.get<CRD>(CRDS, undefined, key);
  if (!crd?.metadata?.deletionTimestamp || !crd.metadata.finalizers?.includes(FINALIZER)) return undefined;
  await markTerminating(crd, deps);
  const ref = resourceOf(crd);
  if (ref) {
    let items: KubeObject[] = [];
    try {
      items = (await deps.client.list(ref)).items;
    } catch (error) {
      // Not served (yet or any more) in this isolate: nothing to delete through it.
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
    for (const item of items) {
      if (item.metadata?.deletionTimestamp) continue;
      await deps.client
        .delete(ref, item.metadata?.namespace, item.metadata?.name ?? "")
        .catch(ignore(404, 409));
    }
    if (items.length) return { requeueAfterMs: RECHECK_MS };
  }
  const current = (await deps.client.get(CRDS, undefined, key).catch(ignore(404))) as CRD | undefined;
  if (!current) return undefined;
  current.metadata!.finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
  const result = await deps.client.update(CRDS, undefined, current).catch(ignore(404));
  if (result) deps.cache.wrote(CRDS, result, false);
  return undefined;
}

/** The customresourcecleanup controller. */
export const crdCleanupController: Controller = {
  name: "customresourcecleanup",
  watches: ["apiextensions.k8s.io/customresourcedefinitions"],
  keys: async (deps) =>
    (await deps.cache.list<CRD>(CRDS))
      .filter((c) => c.metadata?.deletionTimestamp && c.metadata.finalizers?.includes(FINALIZER))
      .map((c) => c.metadata?.name ?? ""),
  keysFor: (event) => [event.object.metadata?.name ?? ""],
  reconcile: reconcileCRD,
};
