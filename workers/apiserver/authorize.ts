/**
 * Authorization. Admins and in-cluster components may do anything (RBAC
 * objects are stored but not enforced yet). Node identities
 * (system:node:<name>) get kube's Node authorizer + NodeRestriction: they may
 * read, except Secrets, which they may only GET by name when a pod bound to
 * them references it; they may only write their own Node and Lease, the
 * status of pods bound to them, delete those pods (confirming graceful
 * deletion), and create events. A bootstrap token not bound to a node
 * (system:bootstrap:<id>) may only read discovery: with no CSR flow here, an
 * unbound token must not be able to act as any node.
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { Registry } from "./registry/store.ts";
import { resolveResource } from "./request-info.ts";
import type { UserInfo } from "./tokens.ts";

const NODE_PREFIX = "system:node:";
const BOOTSTRAP_PREFIX = "system:bootstrap:";
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
  const path = new URL(request.url).pathname;
  if (user.name.startsWith(BOOTSTRAP_PREFIX)) {
    if (READS.has(request.method.toUpperCase()) && !resolveResource(path, registry.resources)) return;
    throw new ApiError(
      "Forbidden",
      `${path} is forbidden: User "${user.name}" is a bootstrap token not bound to a node; ` +
        `add data "node-name" to its Secret to let a node agent use it`,
    );
  }
  if (!user.name.startsWith(NODE_PREFIX)) return;
  const node = user.name.slice(NODE_PREFIX.length);
  const target = resolveResource(path, registry.resources);
  if (READS.has(request.method.toUpperCase())) {
    if (target && target.info.group === "" && target.info.resource === "secrets") {
      await authorizeSecretRead(user, node, target.namespace, target.name, registry);
    }
    return;
  }
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

/** Secrets a pod uses: volumes (incl. projected), env, envFrom and image pull secrets. */
function secretsOf(pod: KubeObject): Set<string> {
  const spec = (pod.spec ?? {}) as {
    volumes?: {
      secret?: { secretName?: string };
      projected?: { sources?: { secret?: { name?: string } }[] };
    }[];
    imagePullSecrets?: { name?: string }[];
    containers?: PodContainer[];
    initContainers?: PodContainer[];
    ephemeralContainers?: PodContainer[];
  };
  const names = new Set<string>();
  const add = (name: string | undefined) => name && names.add(name);
  for (const v of spec.volumes ?? []) {
    add(v.secret?.secretName);
    for (const source of v.projected?.sources ?? []) add(source.secret?.name);
  }
  for (const ref of spec.imagePullSecrets ?? []) add(ref.name);
  for (const c of [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ]) {
    for (const e of c.env ?? []) add(e.valueFrom?.secretKeyRef?.name);
    for (const e of c.envFrom ?? []) add(e.secretRef?.name);
  }
  return names;
}

interface PodContainer {
  env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

/** A node may read a Secret only by name, and only when a pod bound to it references it (kube's Node authorizer). */
async function authorizeSecretRead(
  user: UserInfo,
  node: string,
  namespace: string | undefined,
  name: string | undefined,
  registry: Registry,
): Promise<void> {
  const what = `secrets "${name ?? ""}"`;
  const pods = registry.lookup("", "pods");
  if (!name || !namespace || !pods) throw forbidden(user, what);
  const page = await registry.list(pods, namespace);
  const used = page.items.some(
    (pod) => (pod.spec as { nodeName?: string } | undefined)?.nodeName === node && secretsOf(pod).has(name),
  );
  if (!used) throw forbidden(user, what);
}
