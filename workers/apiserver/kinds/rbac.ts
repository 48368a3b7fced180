/**
 * rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and
 * ClusterRoleBinding: validation and printing. Enforcement lives in
 * ../rbac/ (the authorizer, escalation checks); the ClusterRoles row brings
 * the default policy (rbac/bootstrap.ts) as its built-in objects.
 */

import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "../../client/types.ts";
import { ensureBootstrapPolicy } from "../rbac/bootstrap.ts";
import type { FieldError, StorageOverride, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { list, obj } from "./util.ts";
import { deepEqual, forbidden, invalid, notSupported, required } from "./validation/errors.ts";
import { validateLabelSelector } from "./validation/selector.ts";

const RBAC_GROUP = "rbac.authorization.k8s.io";

function validateRules(object: Role | ClusterRole, clusterScoped: boolean): FieldError[] {
  const errs: FieldError[] = [];
  list(object.rules).forEach((rule, i) => {
    const p = `rules[${i}]`;
    const verbs = Array.isArray(rule.verbs) ? rule.verbs : [];
    if (verbs.length === 0) errs.push(required(`${p}.verbs`, "verbs must contain at least one value"));
    const urls = Array.isArray(rule.nonResourceURLs) ? rule.nonResourceURLs : [];
    const resources = Array.isArray(rule.resources) ? rule.resources : [];
    if (urls.length > 0) {
      if (!clusterScoped)
        errs.push(
          invalid(`${p}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"),
        );
      if (resources.length > 0 || (Array.isArray(rule.apiGroups) && rule.apiGroups.length > 0))
        errs.push(
          invalid(
            `${p}.nonResourceURLs`,
            urls,
            "rules cannot apply to both regular resources and non-resource URLs",
          ),
        );
    } else {
      if (!Array.isArray(rule.apiGroups) || rule.apiGroups.length === 0)
        errs.push(required(`${p}.apiGroups`, "resource rules must supply at least one api group"));
      if (resources.length === 0)
        errs.push(required(`${p}.resources`, "resource rules must supply at least one resource"));
    }
  });
  return errs;
}

function validateRoleRef(object: RoleBinding | ClusterRoleBinding, clusterScoped: boolean): FieldError[] {
  const ref = obj(object.roleRef);
  const errs: FieldError[] = [];
  if (ref.apiGroup !== RBAC_GROUP)
    errs.push(notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]));
  const kinds = clusterScoped ? ["ClusterRole"] : ["Role", "ClusterRole"];
  if (!ref.kind) errs.push(required("roleRef.kind"));
  else if (!kinds.includes(ref.kind as string)) errs.push(notSupported("roleRef.kind", ref.kind, kinds));
  if (!ref.name) errs.push(required("roleRef.name"));
  list(object.subjects).forEach((s, i) => {
    const p = `subjects[${i}]`;
    if (!s.name) errs.push(required(`${p}.name`));
    switch (s.kind) {
      case "ServiceAccount":
        if (s.apiGroup) errs.push(notSupported(`${p}.apiGroup`, s.apiGroup, [""]));
        if (clusterScoped && !s.namespace) errs.push(required(`${p}.namespace`));
        break;
      case "User":
      case "Group":
        if (s.apiGroup !== RBAC_GROUP)
          errs.push(notSupported(`${p}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]));
        break;
      default:
        errs.push(notSupported(`${p}.kind`, s.kind ?? "", ["ServiceAccount", "User", "Group"]));
    }
  });
  return errs;
}

function subjects(binding: RoleBinding | ClusterRoleBinding, kind: string): string {
  const names = list(binding.subjects)
    .filter((s) => s.kind === kind)
    .map((s) => (kind === "ServiceAccount" ? `${s.namespace ?? ""}/${s.name}` : String(s.name)));
  return names.join(", ");
}

const createdAt = col(
  "Created At",
  "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.",
  {
    type: "date",
  },
);

/** Role (namespaced rules). */
export const roleStrategy: Strategy<Role> = {
  validate: (role) => validateRules(role, false),
  specChanged: (a, b) => !deepEqual(a.rules, b.rules),
  columns: [createdAt],
  row: (role) => [role.metadata?.creationTimestamp ?? ""],
};

/** ClusterRole (cluster-wide rules, non-resource URLs, aggregation). */
export const clusterRoleStrategy: Strategy<ClusterRole> = {
  validate(role) {
    const errs = validateRules(role, true);
    list(obj(role.aggregationRule).clusterRoleSelectors).forEach((s, i) => {
      errs.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`));
    });
    return errs;
  },
  specChanged: (a, b) => !deepEqual(a.rules, b.rules),
  columns: [createdAt],
  row: (role) => [role.metadata?.creationTimestamp ?? ""],
};

function bindingStrategy<B extends RoleBinding | ClusterRoleBinding>(clusterScoped: boolean): Strategy<B> {
  return {
    validate: (b) => validateRoleRef(b, clusterScoped),
    validateUpdate: (b, old) =>
      deepEqual(b.roleRef, old.roleRef) ? [] : [forbidden("roleRef", "cannot change roleRef")],
    specChanged: (a, b) => !deepEqual(a.subjects, b.subjects),
    columns: [
      col(
        "Role",
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
      ),
      AGE,
      col("Users", "Users in the roleBinding", { wide: true }),
      col("Groups", "Groups in the roleBinding", { wide: true }),
      col("ServiceAccounts", "ServiceAccounts in the roleBinding", { wide: true }),
    ],
    row: (b, now) => {
      const ref = obj(b.roleRef);
      return [
        `${ref.kind}/${ref.name}`,
        age(b, now),
        subjects(b, "User"),
        subjects(b, "Group"),
        subjects(b, "ServiceAccount"),
      ];
    },
  };
}

/** RoleBinding (binds a Role or ClusterRole within a namespace). */
export const roleBindingStrategy: Strategy<RoleBinding> = bindingStrategy(false);

/** ClusterRoleBinding (binds a ClusterRole cluster-wide). */
export const clusterRoleBindingStrategy: Strategy<ClusterRoleBinding> = bindingStrategy(true);

/** The ClusterRoles row's override: the default roles and bindings exist from the first request on. */
export const clusterRoleStorage: StorageOverride = { bootstrap: ensureBootstrapPolicy };
