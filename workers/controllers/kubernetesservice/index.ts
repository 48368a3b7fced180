import type { KubeObject } from "../../client/kube.ts";
/**
 * The cluster's own Services (kube-apiserver's "kubernetes" service
 * controller, plus the kube-dns Service kubeadm installs): `default/kubernetes`
 * at the first IP of the service range (443/TCP "https") and
 * `kube-system/kube-dns` at its tenth (53/UDP "dns", 53/TCP "dns-tcp").
 * Neither has a selector or endpoints in the API: every node agent serves both
 * itself (its DNS server and its API proxy) and its service proxy sends their
 * ClusterIPs to those local listeners (docs/services.md). Created when missing
 * (the first node joining, a deletion, every cron resync) and their ports put
 * back when changed, as kube's controller does for `kubernetes`.
 */

import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { Service as WireService } from "../../client/types.ts";
import type { Controller, Deps, ObjectEvent, Result } from "../../reconcile/types.ts";

/** A Service as stored (the wire type plus the object fields every kind has). */
type Service = KubeObject & WireService;

/** The keys this controller owns, one per built-in Service. */
const BUILTIN_SERVICES = ["default/kubernetes", "kube-system/kube-dns"] as const;

/** The n-th address of an IPv4 CIDR ("10.96.0.0/16", 10 → "10.96.0.10"); undefined for anything else. */
export function nthAddress(cidr: string, n: number): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 28) return undefined;
  const size = 2 ** (32 - prefix);
  const base = octets.reduce((a, o) => a * 256 + o, 0);
  const ip = base - (base % size) + n;
  return [24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join(".");
}

/** What `key` should look like in a cluster whose service range is `range`. */
function desiredService(key: string, range: string): Service | undefined {
  const [namespace, name] = key.split("/");
  if (key === "default/kubernetes") {
    const ip = nthAddress(range, 1);
    if (!ip) return undefined;
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels: { component: "apiserver", provider: "kubernetes" } },
      spec: {
        type: "ClusterIP",
        clusterIP: ip,
        clusterIPs: [ip],
        sessionAffinity: "None",
        // 6443 is the API server's port by convention; the node's proxy decides where traffic really goes.
        ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: 6443 }],
      },
    };
  }
  if (key === "kube-system/kube-dns") {
    const ip = nthAddress(range, 10);
    if (!ip) return undefined;
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name,
        namespace,
        labels: {
          "k8s-app": "kube-dns",
          "kubernetes.io/cluster-service": "true",
          "kubernetes.io/name": "CoreDNS",
        },
      },
      spec: {
        type: "ClusterIP",
        clusterIP: ip,
        clusterIPs: [ip],
        ports: [
          { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
          { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
        ],
      },
    };
  }
  return undefined;
}

const portsKey = (s: Service | undefined) =>
  JSON.stringify(
    (s?.spec?.ports ?? []).map((p) => [p.name ?? "", p.protocol ?? "TCP", p.port, p.targetPort ?? p.port]),
  );

/** Create the Service when missing; put its ports back when someone changed them. */
async function reconcileBuiltin(key: string, deps: Deps): Promise<Result | undefined> {
  const desired = desiredService(key, deps.config.serviceClusterIPRange);
  if (!desired) return undefined;
  const [namespace, name] = key.split("/") as [string, string];
  const current = await deps.cache.get<Service>(R.services, namespace, name);
  if (current?.metadata?.deletionTimestamp) return undefined;
  if (current) {
    if (portsKey(current) === portsKey(desired)) return undefined;
    await deps.client.patch(R.services, namespace, name, "merge", {
      metadata: { resourceVersion: current.metadata?.resourceVersion },
      spec: { ports: desired.spec?.ports },
    });
    return undefined;
  }
  try {
    await deps.client.create(R.services, namespace, desired);
  } catch (error) {
    if (error instanceof ApiError && error.reason === "AlreadyExists") return undefined;
    // The address is held by another Service (the allocator keeps it free, so only by request): say so, do not spin.
    if (error instanceof ApiError && error.code === 422) {
      await deps.recorder.event(
        desired,
        "Warning",
        "ClusterIPNotAvailable",
        `cannot create ${key}: ${error.message}`,
      );
      return undefined;
    }
    throw error;
  }
  return undefined;
}

/** A built-in Service's own events wake its key; a Node joining wakes both (the cluster is in use). */
function keysFor(event: ObjectEvent): string[] {
  if (event.resource === "/nodes") return event.type === "ADDED" ? [...BUILTIN_SERVICES] : [];
  const key = `${event.object.metadata?.namespace}/${event.object.metadata?.name}`;
  return (BUILTIN_SERVICES as readonly string[]).includes(key) ? [key] : [];
}

/** The built-in Services controller. */
export const kubernetesServiceController: Controller = {
  name: "kubernetesservice",
  watches: ["/services", "/nodes"],
  keys: async () => [...BUILTIN_SERVICES],
  keysFor,
  reconcile: reconcileBuiltin,
};
