/**
 * The RBAC authorizer (kube's plugin/pkg/auth/authorizer/rbac): a request is
 * allowed when a rule of a role bound to the user, or to one of its groups,
 * allows it; ClusterRoleBindings count everywhere, RoleBindings in their
 * namespace only. Also the rule listing behind SelfSubjectRulesReview and
 * the escalation checks, and kube's wording for a refusal.
 */
import type { PolicyRule } from "kubernetes-types/rbac/v1.js";
import { collectionPrefix, toResourceVersion } from "../registry/keys.ts";
import type { Registry } from "../registry/registry.ts";
import { RBAC_GROUP, type RbacCache, type RbacSnapshot, type RbacSource } from "./cache.ts";
import { type Attributes, isResourceRequest, ruleAllows, type Subjectish } from "./evaluate.ts";

/** An RbacSource over the registry: the four collections and their shard revisions. */
function registrySource(registry: Registry): RbacSource {
  return {
    async list(resource) {
      const info = registry.lookup(RBAC_GROUP, resource);
      if (!info) return { items: [], revision: "0" };
      const page = await registry.list(info, undefined);
      return { items: page.items, revision: page.resourceVersion };
    },
    async revision(resource) {
      const info = registry.lookup(RBAC_GROUP, resource);
      if (!info) return "0";
      const { current } = await registry.store.revisions(collectionPrefix(info));
      return toResourceVersion(current);
    },
  };
}

/** The snapshot of `cache` read through `registry`. */
export function snapshotOf(cache: RbacCache, registry: Registry): Promise<RbacSnapshot> {
  return cache.get(registrySource(registry));
}

/** Whether RBAC allows the request (kube's RBACAuthorizer.Authorize: allow or no opinion). */
export function rbacAllows(snapshot: RbacSnapshot, user: Subjectish, attributes: Attributes): boolean {
  const namespace = isResourceRequest(attributes) ? attributes.namespace || undefined : undefined;
  for (const binding of snapshot.bindingsFor(user, namespace))
    for (const rule of snapshot.rulesOf(binding)) if (ruleAllows(attributes, rule)) return true;
  return false;
}

/** Every rule that applies to the user in `namespace` (undefined: cluster-wide only), in kube's visiting order. */
export function rulesFor(
  snapshot: RbacSnapshot,
  user: Subjectish,
  namespace: string | undefined,
): PolicyRule[] {
  return snapshot.bindingsFor(user, namespace).flatMap((b) => snapshot.rulesOf(b));
}

/** kube's forbiddenMessage (responsewriters/errors.go): what the user cannot do, and where. */
export function forbiddenMessage(user: string, attributes: Attributes): string {
  if (!isResourceRequest(attributes))
    return `User ${JSON.stringify(user)} cannot ${attributes.verb} path ${JSON.stringify(attributes.path)}`;
  const resource = attributes.subresource
    ? `${attributes.resource}/${attributes.subresource}`
    : attributes.resource;
  const head = `User ${JSON.stringify(user)} cannot ${attributes.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attributes.apiGroup)}`;
  return attributes.namespace
    ? `${head} in the namespace ${JSON.stringify(attributes.namespace)}`
    : `${head} at the cluster scope`;
}

/** kube's NewForbidden message: `<resource>.<group> "<name>" is forbidden: <why>`. */
export function forbiddenStatusMessage(attributes: Attributes, why: string): string {
  if (!isResourceRequest(attributes)) return `forbidden: ${why}`;
  const qualified = attributes.apiGroup
    ? `${attributes.resource}.${attributes.apiGroup}`
    : attributes.resource;
  return attributes.name
    ? `${qualified} ${JSON.stringify(attributes.name)} is forbidden: ${why}`
    : `${qualified} is forbidden: ${why}`;
}
