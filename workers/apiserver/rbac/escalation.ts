/**
 * Escalation prevention (kube's rbac policybased storage with
 * ConfirmNoEscalation, RoleEscalationAuthorized and BindingAuthorized):
 * nobody grants what they do not hold. Writing a Role or ClusterRole needs
 * every rule in it, or the `escalate` verb on it; an aggregationRule needs
 * full authority. Writing a binding needs the referenced role's rules, or
 * the `bind` verb on the role. system:masters is exempt. Runs as an
 * admission plugin after validation, so only valid objects are checked.
 */
import type { ClusterRole, PolicyRule, Role, RoleBinding } from "kubernetes-types/rbac/v1.js";
import { ApiError, errors } from "../../client/status.ts";
import type { AdmissionPlugin } from "../admission/chain.ts";
import type { Authorizer } from "../authorize.ts";
import { MASTERS_GROUP } from "../authorize.ts";
import type { Registry } from "../registry/registry.ts";
import type { UserInfo } from "../tokens.ts";
import { RBAC_GROUP } from "./cache.ts";
import { compactRules, compactString, covers, goQuoted } from "./covers.ts";

const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
  { verbs: ["*"], nonResourceURLs: ["*"] },
];

function forbidden(resource: string, name: string, message: string): ApiError {
  return new ApiError(
    "Forbidden",
    `${resource}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: ${message}`,
    {
      name,
      group: RBAC_GROUP,
      kind: resource,
    },
  );
}

/** ConfirmNoEscalation: undefined when the user holds every rule, else kube's message listing what is missing. */
async function escalation(
  authorizer: Authorizer,
  user: UserInfo,
  namespace: string | undefined,
  rules: PolicyRule[],
  registry: Registry,
): Promise<string | undefined> {
  const held = await authorizer.rules(user, namespace, registry);
  const { covered, missing } = covers(held, rules);
  if (covered) return undefined;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  return `user ${JSON.stringify(user.name)} (groups=${goQuoted(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
}

/** The rules a roleRef points at; 404 when the role does not exist (as kube's GetRoleReferenceRules). */
async function roleRefRules(registry: Registry, binding: RoleBinding, namespace: string | undefined) {
  const ref = binding.roleRef;
  const resource = roleResource(binding);
  const info = registry.lookup(RBAC_GROUP, resource);
  if (!info) throw errors.notFound(resource, ref.name, RBAC_GROUP);
  const role = (await registry.get(
    info,
    ref.kind === "Role" ? namespace : undefined,
    ref.name,
  )) as unknown as Role;
  return role.rules ?? [];
}

/** The resource a roleRef names: roles or clusterroles. */
function roleResource(binding: RoleBinding): string {
  return binding.roleRef.kind === "Role" ? "roles" : "clusterroles";
}

/**
 * An update that cannot grant anything new: same rules, same aggregationRule and same labels (a
 * label can make an aggregated role pick this one up). kube skips only GC-field changes; this is as safe.
 */
function grantsTheSame(old: ClusterRole, role: ClusterRole): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return (
    same(old.rules ?? [], role.rules ?? []) &&
    same(old.aggregationRule, role.aggregationRule) &&
    same(old.metadata?.labels ?? {}, role.metadata?.labels ?? {})
  );
}

/** The escalation checks as an admission plugin, over the API server's authorizer. */
export function escalationAdmission(authorizer: Authorizer): AdmissionPlugin {
  return {
    name: "RBACEscalation",
    async validate({ info, object, old, registry, ctx }) {
      if (info.group !== RBAC_GROUP || ctx.groups.includes(MASTERS_GROUP)) return;
      const user: UserInfo = { name: ctx.user, groups: ctx.groups };
      const name = object.metadata?.name ?? "";
      const namespace = info.namespaced ? object.metadata?.namespace : undefined;
      const allowedTo = async (verb: string, resource: string, target: string) =>
        (
          await authorizer.decide(
            user,
            { verb, apiGroup: RBAC_GROUP, resource, name: target, namespace: namespace ?? "" },
            registry,
          )
        ).allowed;
      if (info.resource === "roles" || info.resource === "clusterroles") {
        const role = object as unknown as ClusterRole;
        if (old && grantsTheSame(old as unknown as ClusterRole, role)) return;
        if (await allowedTo("escalate", info.resource, name)) return;
        const why = await escalation(authorizer, user, namespace, role.rules ?? [], registry);
        if (why) throw forbidden(info.resource, name, why);
        const aggregates =
          role.aggregationRule || (old as unknown as ClusterRole | undefined)?.aggregationRule;
        if (aggregates && (await escalation(authorizer, user, undefined, FULL_AUTHORITY, registry)))
          throw forbidden(
            info.resource,
            name,
            "must have cluster-admin privileges to use the aggregationRule",
          );
        return;
      }
      if (info.resource === "rolebindings" || info.resource === "clusterrolebindings") {
        const binding = object as unknown as RoleBinding;
        // bind first: with it, a binding may even name a role that does not exist yet (as in kube).
        if (await allowedTo("bind", roleResource(binding), binding.roleRef.name)) return;
        const rules = await roleRefRules(registry, binding, namespace);
        const why = await escalation(authorizer, user, namespace, rules, registry);
        if (why) throw forbidden(info.resource, name, why);
      }
    },
  };
}
