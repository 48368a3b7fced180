/**
 * RBAC rule evaluation, a port of kube's RuleAllows and its matchers
 * (pkg/apis/rbac/v1/evaluation_helpers.go) and of appliesTo
 * (pkg/registry/rbac/validation/rule.go). Pure functions: no store, no cache.
 * There is no deny rule: the first rule that matches allows.
 */
import type { PolicyRule, Subject } from "kubernetes-types/rbac/v1.js";

/** What a request asks for (authorizer.Attributes without the user). */
export type Attributes = ResourceAttributes | NonResourceAttributes;

/** A request on a resource (namespace absent: cluster scope or all namespaces). */
export interface ResourceAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  name?: string;
  namespace?: string;
}

/** A request on a non-resource path (/healthz, /api, /version, ...). */
export interface NonResourceAttributes {
  verb: string;
  path: string;
}

/** Who is asking, as RBAC sees it (user.Info). */
export interface Subjectish {
  name: string;
  groups: string[];
}

/** True for a resource request. */
export function isResourceRequest(attributes: Attributes): attributes is ResourceAttributes {
  return "resource" in attributes;
}

/** The verb is listed, or the rule grants every verb. */
function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === "*" || v === verb);
}

/** The group is listed, or the rule grants every group. */
function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === "*" || g === group);
}

/** `*`, the exact "resource[/subresource]", or `*\/subresource` for any resource's subresource. */
function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === "*" || r === combined) return true;
    if (subresource && r.length === subresource.length + 2 && r.startsWith("*/") && r.endsWith(subresource))
      return true;
  }
  return false;
}

/** No resourceNames means every name; otherwise the name must be listed (so never a collection). */
function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** `*`, the exact path, or a trailing-`*` prefix. */
function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const url of rule.nonResourceURLs ?? []) {
    if (url === "*" || url === path) return true;
    if (url.endsWith("*") && path.startsWith(url.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows the request (RuleAllows). */
export function ruleAllows(attributes: Attributes, rule: PolicyRule): boolean {
  if (!Array.isArray(rule.verbs) || !verbMatches(rule, attributes.verb)) return false;
  if (!isResourceRequest(attributes)) return nonResourceURLMatches(rule, attributes.path);
  const sub = attributes.subresource ?? "";
  const combined = sub ? `${attributes.resource}/${sub}` : attributes.resource;
  return (
    apiGroupMatches(rule, attributes.apiGroup) &&
    resourceMatches(rule, combined, sub) &&
    resourceNameMatches(rule, attributes.name ?? "")
  );
}

/** The user name a ServiceAccount authenticates as. */
function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * The user name a subject stands for, or the group name (kind "Group");
 * a ServiceAccount's namespace defaults to the binding's. Undefined when it can match nobody.
 */
export function subjectKey(subject: Subject, bindingNamespace: string): string | undefined {
  switch (subject.kind) {
    case "User":
      return `u:${subject.name}`;
    case "Group":
      return `g:${subject.name}`;
    case "ServiceAccount": {
      const ns = subject.namespace || bindingNamespace;
      return ns ? `u:${serviceAccountUser(ns, subject.name)}` : undefined;
    }
    default:
      return undefined;
  }
}

/** Whether a binding subject names this user (appliesTo). */
export function appliesTo(user: Subjectish, subject: Subject, bindingNamespace: string): boolean {
  const key = subjectKey(subject, bindingNamespace);
  if (!key) return false;
  if (key.startsWith("u:")) return key.slice(2) === user.name;
  return user.groups.includes(key.slice(2));
}
