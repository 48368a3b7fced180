import type { KubeObject } from "../../client/kube.ts";
/**
 * ServiceLB (k3s's model): a `type: LoadBalancer` Service is served on every
 * node by the node's service proxy (NodePort plus the ingress IPs), so its
 * status.loadBalancer.ingress lists the InternalIPs of the Ready nodes. A
 * Service that asks for another implementation (spec.loadBalancerClass) is
 * left alone; one that stops being a LoadBalancer loses the ingress we gave
 * it. Written through the status subresource, only when it differs.
 */
import { R } from "../../client/resources.ts";
import type { Service as WireService } from "../../client/types.ts";
import { findCondition, type Node } from "../../reconcile/k8s.ts";
import {
  ALL_KEYS,
  type Controller,
  type Deps,
  type ObjectEvent,
  type Result,
} from "../../reconcile/types.ts";

/** A Service as stored (the wire type plus the object fields every kind has). */
type Service = KubeObject & WireService;

/** The InternalIPs of Ready, schedulable-or-not nodes, sorted (the ingress every LoadBalancer Service gets). */
function ingressIPs(nodes: Node[]): string[] {
  const ips = new Set<string>();
  for (const node of nodes) {
    if (node.metadata.deletionTimestamp) continue;
    if (findCondition(node.status?.conditions, "Ready")?.status !== "True") continue;
    const ip = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (ip) ips.add(ip);
  }
  return [...ips].sort();
}

/** Bring one Service's status.loadBalancer.ingress to the Ready nodes' addresses (or clear what we set). */
async function reconcileServiceLB(key: string, deps: Deps): Promise<Result | undefined> {
  const [namespace, name] = key.split("/") as [string, string];
  const svc = await deps.cache.get<Service>(R.services, namespace, name);
  if (!svc || svc.metadata?.deletionTimestamp || svc.spec?.loadBalancerClass) return undefined;
  const current = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? "");
  const wanted = svc.spec?.type === "LoadBalancer" ? ingressIPs(await deps.cache.list<Node>(R.nodes)) : [];
  if (JSON.stringify(current) === JSON.stringify(wanted)) return undefined;
  // The resourceVersion makes the write optimistic: a Service changed meanwhile answers 409 and is retried.
  await deps.client.patch(
    R.services,
    namespace,
    name,
    "merge",
    {
      metadata: { resourceVersion: svc.metadata?.resourceVersion },
      status: { loadBalancer: { ingress: wanted.length ? wanted.map((ip) => ({ ip })) : null } },
    },
    { subresource: "status" },
  );
  return undefined;
}

/** A Service wakes itself; any Node change may change every LoadBalancer's ingress. */
function keysFor(event: ObjectEvent): string[] {
  if (event.resource === "/nodes") return [ALL_KEYS];
  return [`${event.object.metadata?.namespace}/${event.object.metadata?.name}`];
}

/** Every Service that is, or still shows ingress from being, a LoadBalancer. */
async function keys(deps: Deps): Promise<string[]> {
  return (await deps.cache.list<Service>(R.services))
    .filter((s) => s.spec?.type === "LoadBalancer" || s.status?.loadBalancer?.ingress?.length)
    .map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`);
}

/** The ServiceLB controller. */
export const serviceLBController: Controller = {
  name: "servicelb",
  watches: ["/services", "/nodes"],
  keys,
  keysFor,
  reconcile: reconcileServiceLB,
};
