/**
 * Endpoints and EndpointSlice controller: for every Service with a selector,
 * the IPs of the matching pods (ready ones as addresses, others as
 * notReadyAddresses / ready=false), with the Service's target ports resolved
 * against each pod's named container ports.
 */
import type { KubeObject, ObjectMeta } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import {
  canonicalJson,
  isReady,
  isTerminal,
  keyOf,
  type Pod,
  safeHash,
  splitKey,
} from "../../reconcile/k8s.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";
import { ownerRefTo } from "../pods.ts";

/** A Service, as far as endpoints care. */
export interface Service extends KubeObject {
  metadata: ObjectMeta;
  spec?: {
    selector?: Record<string, string>;
    publishNotReadyAddresses?: boolean;
    ports?: {
      name?: string;
      port: number;
      targetPort?: number | string;
      protocol?: string;
      appProtocol?: string;
    }[];
  };
}

interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
}

function resolvePorts(service: Service, pod: Pod): EndpointPort[] | undefined {
  const out: EndpointPort[] = [];
  for (const p of service.spec?.ports ?? []) {
    const target = p.targetPort ?? p.port;
    let port: number | undefined;
    if (typeof target === "number") port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else {
      for (const c of pod.spec.containers) {
        const found = c.ports?.find(
          (cp) => cp.name === target && (cp.protocol ?? "TCP") === (p.protocol ?? "TCP"),
        );
        if (found) port = found.containerPort;
      }
    }
    if (port === undefined) return undefined; // kube skips pods lacking a named port
    out.push({ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol ?? "TCP" });
  }
  return out;
}

const SLICE_MANAGER = "endpointslice-controller.k8s.io";

async function upsert(
  deps: Deps,
  ref: typeof R.endpoints,
  existing: KubeObject | undefined,
  desired: KubeObject,
) {
  const ns = desired.metadata?.namespace;
  if (!existing) {
    await deps.client.create(ref, ns, desired).catch((error: unknown) => {
      if (!(error instanceof ApiError && (error.code === 409 || error.code === 403))) throw error;
    });
    return;
  }
  const strip = (o: KubeObject) => {
    const { metadata, apiVersion: _a, kind: _k, ...rest } = o;
    return canonicalJson({
      labels: metadata?.labels ?? {},
      owners: metadata?.ownerReferences ?? [],
      ...rest,
    });
  };
  if (strip(existing) === strip(desired)) return;
  const meta = {
    ...existing.metadata,
    labels: desired.metadata?.labels,
    ownerReferences: desired.metadata?.ownerReferences,
  };
  await deps.client.update(ref, ns, { ...desired, metadata: meta });
}

/** Reconcile one Service ("namespace/name"): write its Endpoints and EndpointSlice. */
export async function reconcileEndpoints(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const service = await deps.cache.get<Service>(R.services, namespace, name);
  const existing = await deps.cache.get(R.endpoints, namespace, name);
  if (!service) {
    // The Service is gone: so are its Endpoints (its EndpointSlices go with the garbage collector).
    if (existing) await deps.client.delete(R.endpoints, namespace, name).catch(() => undefined);
    return undefined;
  }
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined; // endpoints are managed by hand
  const pods = (await deps.cache.list<Pod>(R.pods)).filter(
    (p) =>
      p.metadata.namespace === namespace &&
      !isTerminal(p) &&
      !p.metadata.deletionTimestamp &&
      p.status?.podIP &&
      Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
  );
  pods.sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  const subsets = new Map<
    string,
    { addresses: unknown[]; notReadyAddresses: unknown[]; ports: EndpointPort[] }
  >();
  const sliceEndpoints: unknown[] = [];
  let slicePorts: EndpointPort[] | undefined;
  for (const pod of pods) {
    const ports = resolvePorts(service, pod);
    if (!ports) continue;
    const ready = isReady(pod) || service.spec?.publishNotReadyAddresses === true;
    const targetRef = { kind: "Pod", namespace, name: pod.metadata.name, uid: pod.metadata.uid };
    const address = { ip: pod.status?.podIP, nodeName: pod.spec.nodeName, targetRef };
    const k = canonicalJson(ports);
    const subset = subsets.get(k) ?? { addresses: [], notReadyAddresses: [], ports };
    (ready ? subset.addresses : subset.notReadyAddresses).push(address);
    subsets.set(k, subset);
    slicePorts ??= ports;
    sliceEndpoints.push({
      addresses: [pod.status?.podIP],
      conditions: { ready, serving: ready, terminating: false },
      nodeName: pod.spec.nodeName,
      targetRef,
    });
  }
  const labels = { ...service.metadata.labels };
  const endpoints: KubeObject = {
    apiVersion: "v1",
    kind: "Endpoints",
    // Owned by the Service so the garbage collector removes it with the Service.
    metadata: {
      name,
      namespace,
      labels,
      ownerReferences: [
        { ...ownerRefTo({ apiVersion: "v1", kind: "Service", ...service }), controller: false },
      ],
    },
    subsets: [...subsets.values()].map((s) => ({
      ...(s.addresses.length ? { addresses: s.addresses } : {}),
      ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
      ports: s.ports,
    })),
  };
  await upsert(deps, R.endpoints, existing, endpoints);

  const sliceName = `${name}-${safeHash(service.metadata.uid ?? name).slice(0, 5)}`;
  const slice: KubeObject = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: sliceName,
      namespace,
      labels: {
        ...labels,
        "kubernetes.io/service-name": name,
        "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER,
      },
      ownerReferences: [ownerRefTo({ apiVersion: "v1", kind: "Service", ...service })],
    },
    addressType: "IPv4",
    endpoints: sliceEndpoints,
    ports: slicePorts ?? [],
  };
  const existingSlice = await deps.cache.get(R.endpointslices, namespace, sliceName).catch(() => undefined);
  await upsert(deps, R.endpointslices, existingSlice, slice);
  return undefined;
}

/** The Endpoints/EndpointSlice controller: keys are Services plus Endpoints whose Service may be gone. */
export const endpointsController: Controller = {
  name: "endpoints",
  watches: ["/services", "/pods"],
  keys: async (deps) => (await deps.cache.list(R.services)).map(keyOf),
  reconcile: reconcileEndpoints,
};
