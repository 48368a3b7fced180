/**
 * Which webhooks a write reaches (kube's webhook/predicates/rules and
 * generic.Webhook matching): a rule's operations, apiGroups, apiVersions,
 * resources (with "*", "x/*", "*\/y" and "*\/*") and scope, then the
 * namespace and object selectors.
 */
import { selectorMatches } from "../../../client/labels.ts";
import type { LabelSelector } from "../../../client/types.ts";
import type { Operation } from "../chain.ts";
import type { WebhookSpec } from "./validation.ts";

/** The operations a rule names (the chain shows webhooks CREATE, UPDATE and DELETE; CONNECT is not built). */
export type { Operation };

/** What a rule is matched against: kube's admission.Attributes, reduced to the matched fields. */
export interface MatchAttributes {
  operation: Operation;
  group: string;
  version: string;
  resource: string;
  /** "" for the main resource, else "status", "scale", ... */
  subresource: string;
  /** Whether the resource is namespaced (scope "Namespaced") or cluster-scoped ("Cluster"). */
  namespaced: boolean;
}

/** The group/versions a resource is served in, for matchPolicy Equivalent. */
export type ServedVersions = (group: string, resource: string) => string[];

function listMatches(list: unknown, value: string): boolean {
  return Array.isArray(list) && (list.includes("*") || list.includes(value));
}

/** Whether "resource[/subresource]" is named by one of the rule's resources. */
function resourceMatches(resources: unknown, resource: string, subresource: string): boolean {
  if (!Array.isArray(resources)) return false;
  const want = subresource ? `${resource}/${subresource}` : resource;
  return resources.some((r: unknown) => {
    if (r === "*/*" || r === want) return true;
    if (typeof r !== "string") return false;
    // "*" is every resource but no subresource; "x/*" every subresource of x; "*\/y" subresource y of any.
    if (r === "*") return subresource === "";
    const [res, sub] = r.split("/", 2);
    if (sub === undefined || subresource === "") return false;
    return (res === "*" || res === resource) && (sub === "*" || sub === subresource);
  });
}

/** rules.Matcher.Matches for one RuleWithOperations, with the version check given separately. */
function ruleMatches(rule: WebhookSpec, attrs: MatchAttributes, versionOk: (versions: unknown) => boolean) {
  if (!listMatches(rule.operations, attrs.operation)) return false;
  if (!listMatches(rule.apiGroups, attrs.group)) return false;
  if (!versionOk(rule.apiVersions)) return false;
  if (!resourceMatches(rule.resources, attrs.resource, attrs.subresource)) return false;
  switch (rule.scope ?? "*") {
    case "Cluster":
      return !attrs.namespaced;
    case "Namespaced":
      return attrs.namespaced;
    default:
      return true;
  }
}

/**
 * Whether any of the webhook's rules matches. With matchPolicy Equivalent a
 * rule naming another version in which the same group/resource is served
 * matches too (kube would convert the object; Edgeplane serves each resource
 * in one stored form, so the object is sent as requested).
 */
export function rulesMatch(hook: WebhookSpec, attrs: MatchAttributes, served: ServedVersions): boolean {
  const rules: WebhookSpec[] = Array.isArray(hook.rules) ? hook.rules : [];
  const exact = (versions: unknown) => listMatches(versions, attrs.version);
  if (rules.some((r) => ruleMatches(r, attrs, exact))) return true;
  if (hook.matchPolicy === "Exact") return false;
  const equivalent = (versions: unknown) =>
    served(attrs.group, attrs.resource).some((v) => listMatches(versions, v));
  return rules.some((r) => ruleMatches(r, attrs, equivalent));
}

/**
 * objectSelector: the new or the old object's labels match (kube's object
 * matcher). undefined stands for no such object (a create has no old one, a
 * delete no new one), which never matches a non-empty selector.
 */
export function objectSelectorMatches(
  hook: WebhookSpec,
  labels: Record<string, string> | undefined,
  oldLabels: Record<string, string> | undefined,
): boolean {
  const selector = (hook.objectSelector ?? {}) as LabelSelector;
  if (!Object.keys(selector.matchLabels ?? {}).length && !selector.matchExpressions?.length) return true;
  return (
    (labels !== undefined && selectorMatches(selector, labels)) ||
    (oldLabels !== undefined && selectorMatches(selector, oldLabels))
  );
}

/** namespaceSelector on the namespace's labels; cluster-scoped objects other than namespaces always match. */
export function namespaceSelectorMatches(
  hook: WebhookSpec,
  nsLabels: Record<string, string> | undefined,
): boolean {
  return nsLabels === undefined || selectorMatches((hook.namespaceSelector ?? {}) as LabelSelector, nsLabels);
}

/** kube's IsExemptAdmissionConfigurationResource: webhooks never see writes to their own configurations. */
export function isExempt(group: string, resource: string): boolean {
  return (
    group === "admissionregistration.k8s.io" &&
    [
      "validatingwebhookconfigurations",
      "mutatingwebhookconfigurations",
      "validatingadmissionpolicies",
      "validatingadmissionpolicybindings",
      "mutatingadmissionpolicies",
      "mutatingadmissionpolicybindings",
    ].includes(resource)
  );
}
