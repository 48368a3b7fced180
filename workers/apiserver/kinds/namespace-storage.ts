/**
 * The Namespace kind's storage override (kube's
 * pkg/registry/core/namespace/storage wrapping the generic store, plus
 * NamespaceLifecycle admission and the core of the namespace controller):
 * namespaced objects may only be created in a namespace that exists and is
 * not terminating; deleting a namespace marks it Terminating, removes its
 * contents, and removes it once empty; the built-in namespaces exist from
 * the first request on. Declared on the namespaces row (kinds/index.ts).
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { AdmissionPlugin } from "../admission/chain.ts";
import type { Registry } from "../registry/registry.ts";
import type { RequestContext, ResourceInfo, StorageOverride } from "../registry/types.ts";

/** Namespaces that always exist. */
const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

function namespacesOf(registry: Registry): ResourceInfo | undefined {
  return registry.lookup("", "namespaces");
}

/** Admission for creates: the object's namespace must exist and not be terminating. */
async function admitNamespacedCreate(
  info: ResourceInfo,
  object: KubeObject,
  registry: Registry,
  ctx: RequestContext,
): Promise<void> {
  if (!info.namespaced) return;
  const ns = object.metadata?.namespace;
  if (!namespacesOf(registry) || !ns) return;
  const namespace = await registry.namespace(ns, ctx);
  if (!namespace) {
    if (!BUILTIN_NAMESPACES.includes(ns)) throw errors.notFound("namespaces", ns);
    await ensureBuiltinNamespaces(registry, true);
    return;
  }
  if (namespace.metadata?.deletionTimestamp)
    throw new ApiError(
      "Forbidden",
      `${info.resource}${info.group ? `.${info.group}` : ""} "${object.metadata?.name ?? ""}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      {
        name: object.metadata?.name,
        kind: info.resource,
        causes: [
          {
            reason: "NamespaceTerminating",
            message: `namespace ${ns} is being terminated`,
            field: "metadata.namespace",
          },
        ],
      },
    );
}

/** The NamespaceLifecycle plugin of the admission chain (creates only, before validation). */
const namespaceLifecycle: AdmissionPlugin = {
  name: "NamespaceLifecycle",
  async admit({ operation, info, object, registry, ctx }) {
    if (operation === "CREATE") await admitNamespacedCreate(info, object, registry, ctx);
  },
};

const SYSTEM: RequestContext = {
  user: "system:apiserver",
  groups: ["system:masters"],
  now: new Date(0),
  dryRun: false,
};

/** Create the built-in namespaces that are missing (cheap when they exist: one list). */
async function ensureBuiltinNamespaces(registry: Registry, force = false): Promise<void> {
  const nsInfo = namespacesOf(registry);
  if (!nsInfo) return;
  const page = force ? { items: [] as KubeObject[] } : await registry.list(nsInfo, undefined);
  const present = new Set(page.items.map((n) => n.metadata?.name));
  for (const name of BUILTIN_NAMESPACES) {
    if (present.has(name)) continue;
    try {
      await registry.create(
        nsInfo,
        undefined,
        {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
        },
        { ...SYSTEM, now: registry.now() },
        { manager: "edgeplane-apiserver" },
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.reason === "AlreadyExists")) throw error;
    }
  }
}

/**
 * DELETE of a namespace: mark it Terminating, then remove its contents and,
 * when nothing is left, the namespace itself. Objects held by finalizers keep
 * it Terminating; finalizeNamespace is called again later (namespace controller).
 */
async function deleteNamespace(
  registry: Registry,
  info: ResourceInfo,
  _namespace: string | undefined,
  name: string,
  ctx: RequestContext,
): Promise<{ object: KubeObject; deleted: boolean }> {
  const current = await registry.get(info, undefined, name);
  if (BUILTIN_NAMESPACES.includes(name) && name !== "kube-public")
    throw errors.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
  if (ctx.dryRun) return { object: current, deleted: false };
  let object = current;
  if (!current.metadata?.deletionTimestamp) {
    object = await registry.rawUpdate(info, undefined, name, (ns) => {
      ns.metadata!.deletionTimestamp = timestamp(ctx.now);
      ns.metadata!.deletionGracePeriodSeconds = 0;
      ns.status = { ...(ns.status as object), phase: "Terminating" };
      return ns;
    });
  }
  const gone = await finalizeNamespace(registry, name, ctx);
  return gone ? { object, deleted: true } : { object, deleted: false };
}

/** Remove everything in a terminating namespace; remove the namespace once empty. True when it is gone. */
async function finalizeNamespace(registry: Registry, name: string, ctx: RequestContext): Promise<boolean> {
  const nsInfo = namespacesOf(registry);
  if (!nsInfo) return false;
  let remaining = 0;
  for (const info of registry.resources) {
    if (!info.namespaced) continue;
    const page = await registry.list(info, name);
    for (const object of page.items) {
      const objName = object.metadata?.name ?? "";
      try {
        const { deleted } = await registry.remove(info, name, objName, ctx, { gracePeriodSeconds: 0 });
        if (!deleted) remaining++;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
  }
  if (remaining > 0) return false;
  return registry.forceRemove(nsInfo, undefined, name);
}

/** The namespaces row's override: its DELETE, its admission and its built-in objects. */
export const namespaceStorage: StorageOverride = {
  delete: deleteNamespace,
  admission: [namespaceLifecycle],
  bootstrap: (registry) => ensureBuiltinNamespaces(registry),
};
