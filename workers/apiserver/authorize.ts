/**
 * Authorization. Admins and in-cluster components may do anything (RBAC
 * objects are stored but not enforced yet). Node identities
 * (system:node:<name>) get kube's NodeRestriction: they may read, but only
 * write their own Node and Lease, the status of pods bound to them, delete
 * those pods (confirming graceful deletion), and create events.
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { Registry } from "./registry/store.ts";
import { resolveResource } from "./request-info.ts";
import type { UserInfo } from "./tokens.ts";

const NODE_PREFIX = "system:node:";
const READS = new Set(["GET", "HEAD", "OPTIONS"]);

function forbidden(user: UserInfo, what: string): ApiError {
  return new ApiError(
    "Forbidden",
    `${what} is forbidden: User "${user.name}" cannot do this: node restriction`,
  );
}

async function bodyName(request: Request): Promise<string | undefined> {
  try {
    const body = (await request.clone().json()) as KubeObject;
    return body.metadata?.name;
  } catch {
    return undefined;
  }
}

/** Throws 403 unless `user` may make `request`. */
export async function authorize(user: UserInfo, request: Request, registry: Registry): Promise<void> {
  if (!user.name.startsWith(NODE_PREFIX)) return;
  if (READS.has(request.method.toUpperCase())) return;
  const node = user.name.slice(NODE_PREFIX.length);
  const path = new URL(request.url).pathname;
  const target = resolveResource(path, registry.resources);
  if (!target) throw forbidden(user, path);
  const { info, namespace, subresource } = target;
  const name = target.name ?? (request.method.toUpperCase() === "POST" ? await bodyName(request) : undefined);
  const what = `${info.resource}${info.group ? `.${info.group}` : ""} "${name ?? ""}"`;
  const key = `${info.group}/${info.resource}`;
  if (key === "/nodes" && name === node) return;
  if (key === "coordination.k8s.io/leases" && namespace === "kube-node-lease" && name === node) return;
  if ((key === "/events" || key === "events.k8s.io/events") && request.method.toUpperCase() === "POST")
    return;
  if (
    key === "/pods" &&
    name &&
    (subresource === "status" || (!subresource && request.method.toUpperCase() === "DELETE"))
  ) {
    const pod = await registry.get(info, namespace, name).catch(() => undefined);
    if ((pod?.spec as { nodeName?: string } | undefined)?.nodeName === node) return;
  }
  throw forbidden(user, what);
}
