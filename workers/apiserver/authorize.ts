/**
 * Authorization by verb (never by raw HTTP method, never by reading the
 * body), as kube's authorizer chain: the Node authorizer for node
 * identities, then the system:masters shortcut, then RBAC (rbac/).
 *
 * Node identities (system:node:<name>) get kube's Node authorizer, which
 * decides for them alone: they read most kinds, but Secrets, ConfigMaps,
 * PersistentVolumeClaims and PersistentVolumes only by name and only through
 * a pod bound to them; they get none of the pod subresources that act on
 * other workloads (binding, eviction) or reach into containers (log, exec,
 * attach, portforward), nor namespaces/finalize; they may write their own
 * Node and Lease, the status of pods bound to them, delete those pods,
 * create mirror pods of their static pods, and create events. What the authorizer cannot see without the body (the name
 * of a created Node or Lease, which fields a status write changes) is
 * checked by NodeRestriction admission (node-restriction.ts), as in kube.
 * A bootstrap token not bound to a node (system:bootstrap:<id>) may only read
 * discovery: with no CSR flow here, an unbound token must not act as a node.
 * Everyone else is allowed what RBAC grants, and refused with kube's message.
 */
import type { PolicyRule } from "kubernetes-types/rbac/v1.js";
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import { nodeOf, type PodReferences, podReferences } from "./node-graph.ts";
import {
  forbiddenMessage,
  forbiddenStatusMessage,
  rbacAllows,
  rulesFor,
  snapshotOf,
} from "./rbac/authorizer.ts";
import { RbacCache } from "./rbac/cache.ts";
import { type Attributes, isResourceRequest } from "./rbac/evaluate.ts";
import type { Registry } from "./registry/registry.ts";
import type { RequestAttributes } from "./request-info.ts";
import { nodeRunsServiceAccount } from "./serviceaccount/node-graph.ts";
import type { UserInfo } from "./tokens.ts";

const NODE_PREFIX = "system:node:";
const BOOTSTRAP_PREFIX = "system:bootstrap:";
const READ_VERBS = new Set(["get", "list", "watch"]);

/** Subresources no node may use, whatever the verb. */
const NODE_DENIED_SUBRESOURCES = new Set([
  "/pods/binding",
  "/pods/eviction",
  "/pods/log",
  "/pods/exec",
  "/pods/attach",
  "/pods/portforward",
  "/namespaces/finalize",
]);

/** Kinds a node reads only through the graph: resource → the pod reference set that reaches it. */
const GRAPH_READS: Record<string, keyof PodReferences | "persistentvolumes"> = {
  "/secrets": "secrets",
  "/configmaps": "configmaps",
  "/persistentvolumeclaims": "persistentvolumeclaims",
  "/persistentvolumes": "persistentvolumes",
};

/** The group kube lets do anything without consulting RBAC. */
export const MASTERS_GROUP = "system:masters";
/** Pod subresources that reach into containers: since kube 1.35 a WebSocket GET on them also needs `create`. */
const STREAM_SUBRESOURCES = new Set(["exec", "attach", "portforward"]);

/** An authorizer's answer: allowed, or not and why (the reason is appended to kube's message). */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** What the API server and the review kinds need from authorization. */
export interface Authorizer {
  /** Throws 403 Forbidden (kube's wording) unless the request may proceed. */
  authorize(user: UserInfo, attributes: RequestAttributes, registry: Registry): Promise<void>;
  /** The chain's decision for any attributes (SubjectAccessReview, impersonation, escalate/bind). */
  decide(user: UserInfo, attributes: Attributes, registry: Registry): Promise<Decision>;
  /** The RBAC rules that apply to the user in a namespace (SelfSubjectRulesReview, escalation checks). */
  rules(user: UserInfo, namespace: string | undefined, registry: Registry): Promise<PolicyRule[]>;
  /** A write this isolate committed (the registry's write hook): RBAC writes take effect on the next request. */
  observe(event: { group: string }): void;
}

/** A request's attributes in the authorizer's terms (strings, no table row). */
function attributesOf(request: RequestAttributes): Attributes {
  const { verb, path, target } = request;
  if (!target) return { verb, path };
  return {
    verb,
    apiGroup: target.info.group,
    resource: target.info.resource,
    subresource: target.subresource,
    name: target.name,
    namespace: target.namespace,
  };
}

/** The authorizer chain over a per-isolate RBAC cache. */
export function createAuthorizer(options: { cache?: RbacCache } = {}): Authorizer {
  const cache = options.cache ?? new RbacCache();
  const decide = async (user: UserInfo, attributes: Attributes, registry: Registry): Promise<Decision> => {
    if (user.name.startsWith(BOOTSTRAP_PREFIX)) {
      if (!isResourceRequest(attributes) && (attributes.verb === "get" || attributes.verb === "head"))
        return { allowed: true, reason: "" };
      return {
        allowed: false,
        reason: `User "${user.name}" is a bootstrap token not bound to a node; add data "node-name" to its Secret to let a node agent use it`,
      };
    }
    if (user.name.startsWith(NODE_PREFIX)) return nodeDecision(user, attributes, registry);
    if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: "" };
    const snapshot = await snapshotOf(cache, registry);
    if (!rbacAllows(snapshot, user, attributes)) return { allowed: false, reason: "" };
    if (isResourceRequest(attributes) && attributes.verb === "get" && attributes.resource === "pods") {
      const sub = attributes.subresource ?? "";
      if (STREAM_SUBRESOURCES.has(sub) && !rbacAllows(snapshot, user, { ...attributes, verb: "create" }))
        return { allowed: false, reason: `${sub} needs the create verb on pods/${sub}` };
    }
    return { allowed: true, reason: "" };
  };
  return {
    decide,
    observe: (event) => cache.observe(event),
    async authorize(user, request, registry) {
      const attributes = attributesOf(request);
      const decision = await decide(user, attributes, registry);
      if (decision.allowed) return;
      const why = forbiddenMessage(user.name, attributes);
      const message = forbiddenStatusMessage(
        attributes,
        decision.reason ? `${why}: ${decision.reason}` : why,
      );
      const resource = isResourceRequest(attributes) ? attributes : undefined;
      throw new ApiError(
        "Forbidden",
        message,
        resource ? { name: resource.name, group: resource.apiGroup, kind: resource.resource } : undefined,
      );
    },
    async rules(user, namespace, registry) {
      if (user.groups.includes(MASTERS_GROUP))
        return [
          { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
          { verbs: ["*"], nonResourceURLs: ["*"] },
        ];
      return rulesFor(await snapshotOf(cache, registry), user, namespace);
    },
  };
}

/** The Node authorizer for a system:node:<name> identity (it decides alone: nodes get no RBAC). */
async function nodeDecision(user: UserInfo, attributes: Attributes, registry: Registry): Promise<Decision> {
  const node = user.name.slice(NODE_PREFIX.length);
  const { verb } = attributes;
  const deny = (reason: string): Decision => ({ allowed: false, reason });
  const allow: Decision = { allowed: true, reason: "" };
  if (!isResourceRequest(attributes)) {
    if (verb === "get" || verb === "head") return allow;
    return deny("node restriction");
  }
  const { namespace, name, subresource } = attributes;
  const key = `${attributes.apiGroup}/${attributes.resource}`;
  if (subresource && NODE_DENIED_SUBRESOURCES.has(`${key}/${subresource}`))
    return deny("nodes may not use this subresource (node authorizer)");
  if (READ_VERBS.has(verb)) {
    const graph = GRAPH_READS[key];
    if (!graph) return allow;
    if (verb !== "get" || !name || subresource)
      return deny("a node can only get individual objects of this kind (node authorizer)");
    if (await reachable(node, graph, namespace, name, registry)) return allow;
    return deny(`no relationship found between node "${node}" and this object`);
  }
  if (mayWrite(node, key, verb, namespace, name, subresource)) return allow;
  // Tokens only for the accounts of its own pods (TokenRequest then checks the binding: token-request.ts).
  if (key === "/serviceaccounts" && subresource === "token" && verb === "create" && name) {
    if (await nodeRunsServiceAccount(node, namespace, name, registry)) return allow;
    return deny(`no relationship found between node "${node}" and this object`);
  }
  const pods = registry.lookup("", "pods");
  if (
    pods &&
    key === "/pods" &&
    name &&
    ((subresource === "status" && verb !== "create") || (!subresource && verb === "delete"))
  ) {
    const pod = await registry.get(pods, namespace, name).catch(() => undefined);
    if (pod && nodeOf(pod) === node) return allow;
  }
  return deny("node restriction");
}

/** The chain with a cache of its own (tests, tools); the Worker passes its per-isolate cache to createAuthorizer. */
export const authorize: Authorizer["authorize"] = (user, attributes, registry) =>
  createAuthorizer({ cache: new RbacCache() }).authorize(user, attributes, registry);

/** Writes a node may make that need no lookup: its own Node and Lease, mirror pods (creates are checked at admission), events. */
function mayWrite(
  node: string,
  key: string,
  verb: string,
  namespace: string | undefined,
  name: string | undefined,
  subresource: string | undefined,
): boolean {
  if (key === "/nodes") return verb === "create" || name === node;
  if (key === "coordination.k8s.io/leases")
    return namespace === "kube-node-lease" && !subresource && (verb === "create" || name === node);
  // kube's system:node role: create, and patch/update for the correlator's count and lastTimestamp.
  if (key === "/events" || key === "events.k8s.io/events")
    return verb === "create" || verb === "patch" || verb === "update";
  // kube's system:node role lets a node create pods; NodeRestriction admits only its own mirror pods.
  if (key === "/pods") return verb === "create" && !subresource;
  return false;
}

/** Whether a pod bound to `node` references the object (a PV: through such a pod's bound claim). */
async function reachable(
  node: string,
  kind: keyof PodReferences | "persistentvolumes",
  namespace: string | undefined,
  name: string,
  registry: Registry,
): Promise<boolean> {
  const pods = registry.lookup("", "pods");
  if (!pods) return false;
  const bound = (pod: KubeObject) => nodeOf(pod) === node;
  if (kind !== "persistentvolumes") {
    if (!namespace) return false;
    const page = await registry.list(pods, namespace, { match: bound });
    return page.items.some((pod) => podReferences(pod)[kind].has(name));
  }
  const claims = registry.lookup("", "persistentvolumeclaims");
  if (!claims) return false;
  const page = await registry.list(pods, undefined, { match: bound });
  for (const pod of page.items) {
    for (const claim of podReferences(pod).persistentvolumeclaims) {
      const pvc = await registry.get(claims, pod.metadata?.namespace, claim).catch(() => undefined);
      if ((pvc?.spec as { volumeName?: string } | undefined)?.volumeName === name) return true;
    }
  }
  return false;
}
