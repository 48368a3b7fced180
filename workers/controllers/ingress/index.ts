/**
 * Ingress status: every Ingress the Worker serves (class edgeplane, or
 * classless while edgeplane is the default) shows where clients reach it in
 * status.loadBalancer.ingress: INGRESS_ADDRESS (at the edge the hostname
 * the ingress hosts point at; locally 127.0.0.1, npm start's ingress
 * port). An Ingress of another class is left alone; one that stops being
 * ours loses the address we gave it. Written through the status
 * subresource, only when it differs.
 */
import type { IngressClass, Ingress as WireIngress } from "kubernetes-types/networking/v1.js";
import { DEFAULT_CLASS_ANNOTATION, EDGEPLANE_CONTROLLER } from "../../apiserver/kinds/ingressclass.ts";
import type { KubeObject } from "../../client/kube.ts";
import { INGRESS_REFS, isOurs } from "../../ingress/routes.ts";
import {
  ALL_KEYS,
  type Controller,
  type Deps,
  type ObjectEvent,
  type Result,
} from "../../reconcile/types.ts";

type Ingress = KubeObject & WireIngress;

/** The status entry for an address: an IP, or a hostname. */
function entryFor(address: string): { ip: string } | { hostname: string } {
  return /^[\d.]+$/.test(address) || address.includes(":") ? { ip: address } : { hostname: address };
}

/** Bring one Ingress's status.loadBalancer.ingress to our address (or clear it when it is not ours). */
async function reconcileIngress(key: string, deps: Deps): Promise<Result | undefined> {
  const [namespace, name] = key.split("/") as [string, string];
  const ingress = await deps.cache.get<Ingress>(INGRESS_REFS.ingresses, namespace, name);
  if (!ingress || ingress.metadata?.deletionTimestamp) return undefined;
  const classes = (await deps.cache.list<KubeObject & IngressClass>(INGRESS_REFS.ingressclasses)).filter(
    (c) => c.spec?.controller === EDGEPLANE_CONTROLLER,
  );
  const ours = isOurs(
    ingress,
    new Set(classes.map((c) => c.metadata?.name ?? "")),
    classes.some((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true"),
  );
  const address = deps.config.ingressAddress;
  const mine = address ? [entryFor(address)] : [];
  const current = ingress.status?.loadBalancer?.ingress ?? [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  // Not ours: clear only what we wrote; another controller's Ingress keeps what its controller wrote.
  const wanted = ours ? mine : same(current, mine) ? [] : current;
  if (same(current, wanted)) return undefined;
  await deps.client.patch(
    INGRESS_REFS.ingresses,
    namespace,
    name,
    "merge",
    {
      metadata: { resourceVersion: ingress.metadata?.resourceVersion },
      status: { loadBalancer: { ingress: wanted.length ? wanted : null } },
    },
    { subresource: "status" },
  );
  return undefined;
}

/** An Ingress wakes itself; a class change may change which Ingresses are ours. */
function keysFor(event: ObjectEvent): string[] {
  if (event.resource === "networking.k8s.io/ingressclasses") return [ALL_KEYS];
  return [`${event.object.metadata?.namespace}/${event.object.metadata?.name}`];
}

/** Every Ingress. */
async function keys(deps: Deps): Promise<string[]> {
  return (await deps.cache.list<Ingress>(INGRESS_REFS.ingresses)).map(
    (i) => `${i.metadata?.namespace}/${i.metadata?.name}`,
  );
}

/** The Ingress status controller. */
export const ingressStatusController: Controller = {
  name: "ingress-status",
  watches: ["networking.k8s.io/ingresses", "networking.k8s.io/ingressclasses"],
  keys,
  keysFor,
  reconcile: reconcileIngress,
};
