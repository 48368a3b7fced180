/**
 * NodeRestriction admission: the checks on what a node writes that the
 * authorizer cannot make without the object. A node may create only its own
 * Node, its own Lease and mirror pods of its static pods (bound to itself,
 * owned by its Node if by anything, referencing no service account, Secret, ConfigMap or
 * claim: plugin/pkg/admission/noderestriction admitPodCreate), and its pods/status writes may change neither the
 * pod's spec nor its labels, annotations, owner references or finalizers
 * (the kubelet has no business there; a compromised node must not relabel
 * pods into other Services or detach them from their controllers).
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { AdmissionPlugin } from "./admission/chain.ts";
import { nodeOf, podReferences } from "./node-graph.ts";
import type { Registry } from "./registry/registry.ts";
import type { RequestContext, ResourceInfo } from "./registry/types.ts";

const NODE_PREFIX = "system:node:";
/** kube's MirrorPodAnnotationKey: the kubelet's copy of a static pod. */
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

function nodeName(ctx: RequestContext): string | undefined {
  return ctx.user.startsWith(NODE_PREFIX) ? ctx.user.slice(NODE_PREFIX.length) : undefined;
}

function forbidden(ctx: RequestContext, info: ResourceInfo, name: string, why: string): ApiError {
  return new ApiError(
    "Forbidden",
    `${info.resource} "${name}" is forbidden: node "${nodeName(ctx)}" ${why} (NodeRestriction)`,
  );
}

/** Admission on create: a node creates only the Node and the Lease named after itself, and its mirror pods. */
async function admitNodeCreate(
  info: ResourceInfo,
  object: KubeObject,
  ctx: RequestContext,
  registry: Registry,
): Promise<void> {
  const node = nodeName(ctx);
  if (node === undefined) return;
  const name = object.metadata?.name ?? "";
  if (info.group === "" && info.resource === "pods") {
    const why = await mirrorPodRefusal(object, node, registry);
    if (why) throw forbidden(ctx, info, name, why);
    return;
  }
  const own =
    (info.group === "" && info.resource === "nodes") ||
    (info.group === "coordination.k8s.io" && info.resource === "leases");
  if (own && name !== node)
    throw forbidden(ctx, info, name, `is not allowed to create ${info.resource} named other than itself`);
}

interface OwnerRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Why a node may not create this pod, or undefined when it is a mirror pod of its own that references nothing. */
async function mirrorPodRefusal(
  pod: KubeObject,
  node: string,
  registry: Registry,
): Promise<string | undefined> {
  if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] === undefined)
    return `can only create mirror pods (with the "${MIRROR_ANNOTATION}" annotation)`;
  if (nodeOf(pod) !== node) return "can only create pods with spec.nodeName set to itself";
  const owners = (pod.metadata?.ownerReferences ?? []) as OwnerRef[];
  if (owners.length > 1) return "can only create pods with a single owner reference set to itself";
  // No owner reference is allowed, as in kube (older kubelets set none); one must be this Node, by uid.
  const [owner] = owners;
  if (owner) {
    if (owner.apiVersion !== "v1" || owner.kind !== "Node" || owner.name !== node)
      return "can only create pods with an owner reference set to itself";
    if (owner.controller !== true)
      return "can only create pods with a controller owner reference set to itself";
    if (owner.blockOwnerDeletion === true) return "must not set blockOwnerDeletion on an owner reference";
    const info = registry.lookup("", "nodes");
    const self = info ? await registry.get(info, undefined, node).catch(() => undefined) : undefined;
    if (!self || self.metadata?.uid !== owner.uid)
      return `UID mismatch: expected ${owner.uid ?? ""} got ${self?.metadata?.uid ?? "no Node"}`;
  }
  if ((pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName)
    return "can not create pods that reference a service account";
  const refs = podReferences(pod);
  for (const kind of ["secrets", "configmaps", "persistentvolumeclaims"] as const)
    if (refs[kind].size) return `can not create pods that reference ${kind}`;
  return undefined;
}

/** Admission on update: a node's pod status write leaves spec and ownership metadata as they were. */
function admitNodeUpdate(info: ResourceInfo, next: KubeObject, old: KubeObject, ctx: RequestContext): void {
  if (nodeName(ctx) === undefined || info.group !== "" || info.resource !== "pods") return;
  const name = old.metadata?.name ?? "";
  const fields: [string, unknown, unknown][] = [
    ["labels", next.metadata?.labels, old.metadata?.labels],
    ["annotations", next.metadata?.annotations, old.metadata?.annotations],
    ["ownerReferences", next.metadata?.ownerReferences, old.metadata?.ownerReferences],
    ["finalizers", next.metadata?.finalizers, old.metadata?.finalizers],
    ["spec", next.spec, old.spec],
  ];
  for (const [field, now, before] of fields)
    if (!same(now, before)) throw forbidden(ctx, info, name, `cannot update ${field} through pod status`);
}

/** The NodeRestriction plugin of the admission chain (before validation, on every update target). */
export const nodeRestriction: AdmissionPlugin = {
  name: "NodeRestriction",
  async admit({ operation, info, object, old, ctx, registry }) {
    if (operation === "CREATE") await admitNodeCreate(info, object, ctx, registry);
    else if (old) admitNodeUpdate(info, object, old, ctx);
  },
};

/** Deep equality where map key order does not matter and absent equals empty (as labels.Equals). */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.length ? `[${value.map(canonical).join(",")}]` : "";
  if (typeof value === "object") {
    const keys = Object.keys(value as object).sort();
    if (!keys.length) return "";
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
