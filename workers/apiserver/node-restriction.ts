/**
 * NodeRestriction admission: the checks on what a node writes that the
 * authorizer cannot make without the object. A node may create only its own
 * Node and its own Lease, and its pods/status writes may change neither the
 * pod's spec nor its labels, annotations, owner references or finalizers
 * (the kubelet has no business there; a compromised node must not relabel
 * pods into other Services or detach them from their controllers).
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { AdmissionPlugin } from "./admission/chain.ts";
import type { RequestContext, ResourceInfo } from "./registry/types.ts";

const NODE_PREFIX = "system:node:";

function nodeName(ctx: RequestContext): string | undefined {
  return ctx.user.startsWith(NODE_PREFIX) ? ctx.user.slice(NODE_PREFIX.length) : undefined;
}

function forbidden(ctx: RequestContext, info: ResourceInfo, name: string, why: string): ApiError {
  return new ApiError(
    "Forbidden",
    `${info.resource} "${name}" is forbidden: node "${nodeName(ctx)}" ${why} (NodeRestriction)`,
  );
}

/** Admission on create: a node creates only the Node and the Lease named after itself. */
function admitNodeCreate(info: ResourceInfo, object: KubeObject, ctx: RequestContext): void {
  const node = nodeName(ctx);
  if (node === undefined) return;
  const name = object.metadata?.name ?? "";
  const own =
    (info.group === "" && info.resource === "nodes") ||
    (info.group === "coordination.k8s.io" && info.resource === "leases");
  if (own && name !== node)
    throw forbidden(ctx, info, name, `is not allowed to create ${info.resource} named other than itself`);
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
  admit({ operation, info, object, old, ctx }) {
    if (operation === "CREATE") admitNodeCreate(info, object, ctx);
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
