/**
 * Creating the default roles and bindings (policy.ts) that are missing, as
 * the built-in namespaces are: once per isolate before the first request is
 * served, cheap when they exist (two lists). Existing objects are left as
 * they are, so an admin's edits survive restarts. Aggregated roles are
 * created with their rules already filled, so `view` works before the
 * aggregation controller's first pass.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { Registry } from "../registry/registry.ts";
import type { RequestContext } from "../registry/types.ts";
import { settleAggregation } from "./aggregate.ts";
import { RBAC_GROUP } from "./cache.ts";
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from "./policy.ts";

const SYSTEM: Omit<RequestContext, "now"> = {
  user: "system:apiserver",
  groups: ["system:masters"],
  dryRun: false,
};

async function ensure(registry: Registry, resource: string, objects: KubeObject[]): Promise<void> {
  const info = registry.lookup(RBAC_GROUP, resource);
  if (!info) return;
  const present = new Set((await registry.list(info, undefined)).items.map((o) => o.metadata?.name));
  for (const object of objects) {
    if (present.has(object.metadata?.name)) continue;
    try {
      await registry.create(
        info,
        undefined,
        structuredClone(object),
        { ...SYSTEM, now: registry.now() },
        {
          manager: "edgeplane-apiserver",
        },
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.reason === "AlreadyExists")) throw error;
    }
  }
}

/** Create the missing default ClusterRoles and ClusterRoleBindings. */
export async function ensureBootstrapPolicy(registry: Registry): Promise<void> {
  const roles = settleAggregation(BOOTSTRAP_CLUSTER_ROLES);
  await ensure(registry, "clusterroles", roles as unknown as KubeObject[]);
  await ensure(registry, "clusterrolebindings", BOOTSTRAP_CLUSTER_ROLE_BINDINGS as unknown as KubeObject[]);
}
