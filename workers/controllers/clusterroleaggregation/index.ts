/**
 * ClusterRole aggregation controller (kube's clusterroleaggregation): keeps
 * the rules of each ClusterRole with an aggregationRule equal to the union of
 * the rules of the ClusterRoles its selectors match. A change to any
 * ClusterRole wakes every aggregated one; chains (view → edit → admin)
 * settle over successive passes, each writing one level.
 */
import type { ClusterRole } from "kubernetes-types/rbac/v1.js";
import { aggregateRules, sameRules } from "../../apiserver/rbac/aggregate.ts";
import type { KubeObject, ResourceRef } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";

const CLUSTER_ROLES: ResourceRef = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource: "clusterroles",
  namespaced: false,
};

/** Bring one aggregated ClusterRole's rules up to date. */
export async function reconcileClusterRoleAggregation(key: string, deps: Deps): Promise<Result | undefined> {
  const cached = await deps.cache.get(CLUSTER_ROLES, undefined, key);
  if (!cached) return undefined;
  const role = cached as unknown as ClusterRole;
  const all = (await deps.cache.list(CLUSTER_ROLES)) as unknown as ClusterRole[];
  const rules = aggregateRules(role, all);
  if (!rules || sameRules(rules, role.rules)) return undefined;
  try {
    const updated = await deps.client.update(CLUSTER_ROLES, undefined, {
      ...structuredClone(role),
      rules,
    } as unknown as KubeObject);
    deps.cache.wrote(CLUSTER_ROLES, updated, false);
  } catch (error) {
    // Deleted meanwhile: nothing to do. A conflict is retried with the fresh copy.
    if (!(error instanceof ApiError && error.code === 404)) throw error;
  }
  return undefined;
}

/** The ClusterRole aggregation controller. */
export const clusterRoleAggregationController: Controller = {
  name: "clusterrole-aggregation",
  watches: ["rbac.authorization.k8s.io/clusterroles"],
  keys: async (deps) =>
    ((await deps.cache.list(CLUSTER_ROLES)) as unknown as ClusterRole[])
      .filter((r) => r.aggregationRule)
      .map((r) => r.metadata?.name ?? ""),
  reconcile: reconcileClusterRoleAggregation,
};
