/**
 * Authorization by verb (never by raw HTTP method, never by reading the
 * body). Admins and in-cluster components may do anything (RBAC objects are
 * stored but not enforced yet). Node identities (system:node:<name>) get
 * kube's Node authorizer: they read most kinds, but Secrets, ConfigMaps,
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
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import { nodeOf, type PodReferences, podReferences } from "./node-graph.ts";
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

function forbidden(user: UserInfo, verb: string, what: string, why: string): ApiError {
  return new ApiError("Forbidden", `${what} is forbidden: User "${user.name}" cannot ${verb} it: ${why}`);
}

/** Throws 403 unless `user` may perform the request described by `attributes`. */
export async function authorize(
  user: UserInfo,
  attributes: RequestAttributes,
  registry: Registry,
): Promise<void> {
  const { verb, path, target } = attributes;
  if (user.name.startsWith(BOOTSTRAP_PREFIX)) {
    if (!target && (verb === "get" || verb === "head")) return;
    throw new ApiError(
      "Forbidden",
      `${path} is forbidden: User "${user.name}" is a bootstrap token not bound to a node; ` +
        `add data "node-name" to its Secret to let a node agent use it`,
    );
  }
  if (!user.name.startsWith(NODE_PREFIX)) return;
  const node = user.name.slice(NODE_PREFIX.length);
  if (!target) {
    if (verb === "get" || verb === "head") return;
    throw forbidden(user, verb, path, "node restriction");
  }
  const { info, namespace, name, subresource } = target;
  const key = `${info.group}/${info.resource}`;
  const what = `${info.resource}${subresource ? `/${subresource}` : ""}${info.group ? `.${info.group}` : ""} "${name ?? ""}"`;
  if (subresource && NODE_DENIED_SUBRESOURCES.has(`${key}/${subresource}`))
    throw forbidden(user, verb, what, "nodes may not use this subresource (node authorizer)");
  if (READ_VERBS.has(verb)) {
    const graph = GRAPH_READS[key];
    if (!graph) return;
    if (verb !== "get" || !name || subresource)
      throw forbidden(
        user,
        verb,
        what,
        "a node can only get individual objects of this kind (node authorizer)",
      );
    if (await reachable(node, graph, namespace, name, registry)) return;
    throw forbidden(user, verb, what, `no relationship found between node "${node}" and this object`);
  }
  if (mayWrite(node, key, verb, namespace, name, subresource)) return;
  // Tokens only for the accounts of its own pods (TokenRequest then checks the binding: token-request.ts).
  if (key === "/serviceaccounts" && subresource === "token" && verb === "create" && name) {
    if (await nodeRunsServiceAccount(node, namespace, name, registry)) return;
    throw forbidden(user, verb, what, `no relationship found between node "${node}" and this object`);
  }
  if (
    key === "/pods" &&
    name &&
    ((subresource === "status" && verb !== "create") || (!subresource && verb === "delete"))
  ) {
    const pod = await registry.get(info, namespace, name).catch(() => undefined);
    if (pod && nodeOf(pod) === node) return;
  }
  throw forbidden(user, verb, what, "node restriction");
}

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
  if (key === "/events" || key === "events.k8s.io/events") return verb === "create";
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
