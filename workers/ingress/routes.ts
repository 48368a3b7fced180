/**
 * What the ingress front door reads from the API, per isolate: the
 * Ingresses of our class, and the Services and EndpointSlices their
 * backends name. Read through a short TTL (INGRESS_CACHE_TTL_MS): one
 * refresh at a time per isolate, every request in between served from
 * memory. A TTL rather than a watch because an isolate may live for one
 * request or for hours and a watch per isolate would hold a store
 * connection open for each; the cost is that a change takes up to one TTL
 * to reach traffic (a vanished endpoint is covered by the retry in index.ts).
 */
import type { Ingress, IngressBackend, IngressClass } from "kubernetes-types/networking/v1.js";
import { DEFAULT_CLASS_ANNOTATION, EDGEPLANE_CONTROLLER } from "../apiserver/kinds/ingressclass.ts";
import type { KubeClient, KubeObject, ResourceRef } from "../client/kube.ts";
import type { EndpointSlice, Service } from "../client/types.ts";

/** How long a snapshot serves requests before the next one is read. */
const INGRESS_CACHE_TTL_MS = 2_000;

const NET = { group: "networking.k8s.io", version: "v1", namespaced: true };
/** The resources read here. */
export const INGRESS_REFS = {
  ingresses: { ...NET, resource: "ingresses" },
  ingressclasses: { ...NET, resource: "ingressclasses", namespaced: false },
  services: { group: "", version: "v1", resource: "services", namespaced: true },
  endpointslices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices", namespaced: true },
} satisfies Record<string, ResourceRef>;

/** One read of everything routing needs. */
export interface Snapshot {
  /** The Ingresses this Worker serves (class edgeplane, or classless while edgeplane is the default). */
  ingresses: Ingress[];
  /** Services by "namespace/name". */
  services: Map<string, Service>;
  /** EndpointSlices by "namespace/service". */
  slices: Map<string, EndpointSlice[]>;
}

/** A ready endpoint a request can be carried to: the pod (by uid) on its node, and the port to dial. */
export interface Target {
  node: string;
  namespace: string;
  pod: string;
  uid: string;
  ip: string;
  port: number;
}

/** Whether `ingress` is ours, given the classes whose controller is ours and whether one of them is the default. */
export function isOurs(ingress: Ingress, ourClasses: Set<string>, defaultIsOurs: boolean): boolean {
  const name =
    ingress.spec?.ingressClassName ?? ingress.metadata?.annotations?.["kubernetes.io/ingress.class"];
  return name ? ourClasses.has(name) : defaultIsOurs;
}

/** Read one snapshot through `client`. */
export async function loadSnapshot(client: KubeClient): Promise<Snapshot> {
  const [ingresses, classes, services, slices] = await Promise.all([
    client.list<KubeObject & Ingress>(INGRESS_REFS.ingresses),
    client.list<KubeObject & IngressClass>(INGRESS_REFS.ingressclasses),
    client.list<KubeObject & Service>(INGRESS_REFS.services),
    client.list<KubeObject & EndpointSlice>(INGRESS_REFS.endpointslices),
  ]);
  const ours = classes.items.filter((c) => c.spec?.controller === EDGEPLANE_CONTROLLER);
  const names = new Set(ours.map((c) => c.metadata?.name ?? ""));
  const defaultIsOurs = ours.some((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true");
  const byService = new Map<string, EndpointSlice[]>();
  for (const slice of slices.items) {
    const svc = slice.metadata?.labels?.["kubernetes.io/service-name"];
    if (!svc) continue;
    const key = `${slice.metadata?.namespace}/${svc}`;
    byService.set(key, [...(byService.get(key) ?? []), slice]);
  }
  return {
    ingresses: ingresses.items.filter(
      (i) => !i.metadata?.deletionTimestamp && isOurs(i, names, defaultIsOurs),
    ),
    services: new Map(services.items.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s])),
    slices: byService,
  };
}

/**
 * The ready endpoints of `backend`'s Service in `namespace` (only there: an
 * Ingress cannot name another namespace's Service), or why there are none.
 */
export function targetsOf(snapshot: Snapshot, namespace: string, backend: IngressBackend): Target[] | string {
  const ref = backend.service;
  if (!ref) return "resource backends are not served by the edgeplane ingress";
  const service = snapshot.services.get(`${namespace}/${ref.name}`);
  if (!service) return `service "${namespace}/${ref.name}" not found`;
  if (service.spec?.type === "ExternalName")
    return `service "${namespace}/${ref.name}" is an ExternalName service`;
  const port = (service.spec?.ports ?? []).find((p) =>
    ref.port?.name ? p.name === ref.port.name : p.port === ref.port?.number,
  );
  if (!port) return `service "${namespace}/${ref.name}" has no port ${ref.port?.name ?? ref.port?.number}`;
  const targets: Target[] = [];
  for (const slice of snapshot.slices.get(`${namespace}/${ref.name}`) ?? []) {
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? "") === (port.name ?? ""));
    if (!slicePort?.port) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const uid = endpoint.targetRef?.uid;
      if (
        endpoint.conditions?.ready === false ||
        !endpoint.nodeName ||
        !uid ||
        endpoint.targetRef?.kind !== "Pod"
      )
        continue;
      targets.push({
        node: endpoint.nodeName,
        namespace,
        pod: endpoint.targetRef?.name ?? "",
        uid,
        ip: endpoint.addresses[0] ?? "",
        port: slicePort.port,
      });
    }
  }
  return targets;
}

/**
 * A snapshot re-read at most once per `ttlMs`. Only data is kept: each
 * read runs in the request that found the cache stale (workerd forbids I/O
 * objects and pending promises crossing from one request to another), so a
 * burst of requests right at expiry may read a few times in parallel.
 */
export class SnapshotCache {
  private current?: { at: number; snapshot: Snapshot };

  constructor(
    private readonly ttlMs = INGRESS_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The snapshot, read through `load` when missing or older than the TTL. */
  async get(load: () => Promise<Snapshot>): Promise<Snapshot> {
    if (this.current && this.now() - this.current.at < this.ttlMs) return this.current.snapshot;
    const snapshot = await load();
    this.current = { at: this.now(), snapshot };
    return snapshot;
  }
}
