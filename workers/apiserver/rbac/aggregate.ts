/**
 * ClusterRole aggregation (kube's clusterroleaggregation controller): a role
 * with aggregationRule.clusterRoleSelectors gets the union of the rules of
 * every other ClusterRole its selectors match, in name order, each rule once.
 * Pure, so the bootstrap and the controller compute the same thing.
 */
import type { ClusterRole, PolicyRule } from "kubernetes-types/rbac/v1.js";
import { labelSelectorAsMatcher } from "../../client/labels.ts";

function sameRule(a: PolicyRule, b: PolicyRule): boolean {
  const keys = ["verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"] as const;
  return keys.every((k) => JSON.stringify(a[k] ?? []) === JSON.stringify(b[k] ?? []));
}

/** The rules `role` aggregates from `all`; undefined when it has no aggregationRule. */
export function aggregateRules(role: ClusterRole, all: ClusterRole[]): PolicyRule[] | undefined {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors) return undefined;
  const sorted = [...all].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const rules: PolicyRule[] = [];
  for (const selector of selectors) {
    const matches = labelSelectorAsMatcher(selector);
    for (const other of sorted) {
      if (other.metadata?.name === role.metadata?.name || !matches(other.metadata?.labels ?? {})) continue;
      for (const rule of other.rules ?? []) if (!rules.some((r) => sameRule(r, rule))) rules.push(rule);
    }
  }
  return rules;
}

/** True when two rule lists are the same, in order. */
export function sameRules(a: PolicyRule[] | undefined, b: PolicyRule[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((rule, i) => sameRule(rule, y[i]));
}

/**
 * The roles with their aggregated rules filled in, settled to a fixed point so a chain
 * (view → edit → admin) resolves in one call; roles without an aggregationRule are unchanged.
 */
export function settleAggregation(roles: ClusterRole[]): ClusterRole[] {
  let current = roles.map((r) => structuredClone(r));
  for (let round = 0; round < 10; round++) {
    let changed = false;
    current = current.map((role) => {
      const rules = aggregateRules(role, current);
      if (!rules || sameRules(rules, role.rules)) return role;
      changed = true;
      return { ...role, rules };
    });
    if (!changed) break;
  }
  return current;
}
