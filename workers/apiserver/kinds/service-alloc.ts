/**
 * ClusterIP and NodePort allocation for services.
 *
 * Kubernetes keeps a bitmap object per range; we keep no extra state: a free
 * value is one no stored service uses, found by probing from a hash of the
 * service's namespace/name (so concurrent creates of different services
 * rarely race for the same value). The API server supplies `inUse`, backed by
 * a list of services from the store.
 */
import type { KubeObject } from "../../client/kube.ts";
import { errors } from "../../client/status.ts";
import type { ServiceAllocator } from "../registry/types.ts";

/** Default ranges, as kube-apiserver's --service-cluster-ip-range and --service-node-port-range. */
const DEFAULT_CLUSTER_IP_RANGE = "10.96.0.0/16";
const DEFAULT_NODE_PORT_RANGE = "30000-32767";
/** kube-dns sits at the tenth address of the range (kubeadm's convention, workers/controllers/kubernetesservice). */
const KUBE_DNS_OFFSET = 10;

/** An IPv4 CIDR as a base address and size. */
export interface Ipv4Range {
  base: number;
  size: number;
  cidr: string;
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Parse "10.96.0.0/16"; throws on anything else (IPv4 only for now). */
export function parseCidr(cidr: string): Ipv4Range {
  const [ip, bits] = cidr.split("/");
  const base = ipToInt(ip ?? "");
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30)
    throw new Error(`invalid service IP range ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - prefix);
  return { base: base - (base % size), size, cidr };
}

/** Parse "30000-32767". */
function parsePortRange(range: string): { min: number; max: number } {
  const m = /^(\d+)-(\d+)$/.exec(range.trim());
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max)
    throw new Error(`invalid node port range ${JSON.stringify(range)}`);
  return { min, max };
}

/** FNV-1a of a string: the probe start for `key`. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The first value in [0, size) not `taken`, probing from hash(key); -1 when full. */
function probe(key: string, size: number, taken: (i: number) => boolean): number {
  const start = hash(key) % size;
  for (let k = 0; k < size; k++) {
    const i = (start + k) % size;
    if (!taken(i)) return i;
  }
  return -1;
}

/** What an allocator needs to know: the ClusterIPs and NodePorts stored services use (excluding `key` itself). */
export interface InUse {
  clusterIPs(exceptKey: string): Promise<Set<string>>;
  nodePorts(exceptKey: string): Promise<Set<number>>;
}

/** A ServiceAllocator over the configured ranges and an `inUse` lookup. */
export function createServiceAllocator(options: {
  clusterIPRange?: string;
  nodePortRange?: string;
  inUse: InUse;
}): ServiceAllocator {
  const range = parseCidr(options.clusterIPRange ?? DEFAULT_CLUSTER_IP_RANGE);
  const ports = parsePortRange(options.nodePortRange ?? DEFAULT_NODE_PORT_RANGE);
  return {
    async allocateClusterIP(key, requested) {
      const used = await options.inUse.clusterIPs(key);
      if (requested) {
        const n = ipToInt(requested);
        if (n === undefined || n <= range.base || n >= range.base + range.size - 1)
          throw invalidField(
            "spec.clusterIPs",
            requested,
            `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${range.cidr}`,
          );
        if (used.has(requested))
          throw invalidField(
            "spec.clusterIPs",
            requested,
            `failed to allocate IP ${requested}: provided IP is already allocated`,
          );
        return requested;
      }
      // Skip the network address (offset 0), the first host (the `kubernetes` service) and broadcast, and the
      // tenth (kube-dns): both are created by the control plane and must stay free for it to re-create them.
      const i = probe(
        key,
        range.size - 3,
        (i) => i + 2 === KUBE_DNS_OFFSET || used.has(intToIp(range.base + 2 + i)),
      );
      if (i < 0) throw errors.internal(`failed to allocate a serviceIP: range ${range.cidr} is full`);
      return intToIp(range.base + 2 + i);
    },
    async allocateNodePort(key, requested) {
      const used = await options.inUse.nodePorts(key);
      if (requested) {
        if (requested < ports.min || requested > ports.max)
          throw invalidField(
            "spec.ports[0].nodePort",
            requested,
            `provided port is not in the valid range. The range of valid ports is ${ports.min}-${ports.max}`,
          );
        if (used.has(requested))
          throw invalidField("spec.ports[0].nodePort", requested, "provided port is already allocated");
        return requested;
      }
      const size = ports.max - ports.min + 1;
      const i = probe(key, size, (i) => used.has(ports.min + i));
      if (i < 0)
        throw errors.internal(`failed to allocate a nodePort: range ${ports.min}-${ports.max} is full`);
      return ports.min + i;
    },
  };
}

function invalidField(field: string, value: unknown, message: string) {
  return errors.invalid("Service", "", [
    { reason: "FieldValueInvalid", field, message: `Invalid value: ${JSON.stringify(value)}: ${message}` },
  ]);
}

/** The first ClusterIP probed for `key` in the default range: the pick when no allocator is wired (no uniqueness check). */
export function deterministicClusterIP(key: string, cidr = DEFAULT_CLUSTER_IP_RANGE): string {
  const range = parseCidr(cidr);
  return intToIp(range.base + 2 + (hash(key) % (range.size - 3)));
}

/** The first NodePort probed for `key` in the default range (no uniqueness check). */
export function deterministicNodePort(key: string, range = DEFAULT_NODE_PORT_RANGE): number {
  const { min, max } = parsePortRange(range);
  return min + (hash(key) % (max - min + 1));
}

/** An InUse over a way to list every stored service (e.g. the registry's list of services in all namespaces). */
export function inUseFromServices(listServices: () => Promise<KubeObject[]>): InUse {
  const keyOf = (s: KubeObject) => `${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`;
  return {
    async clusterIPs(exceptKey) {
      const ips = new Set<string>();
      for (const s of await listServices()) {
        if (keyOf(s) === exceptKey) continue;
        const spec = (s.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
        for (const ip of [spec.clusterIP, ...(spec.clusterIPs ?? [])]) if (ip && ip !== "None") ips.add(ip);
      }
      return ips;
    },
    async nodePorts(exceptKey) {
      const ports = new Set<number>();
      for (const s of await listServices()) {
        if (keyOf(s) === exceptKey) continue;
        for (const p of ((s.spec ?? {}) as { ports?: { nodePort?: number }[] }).ports ?? [])
          if (p.nodePort) ports.add(p.nodePort);
      }
      return ports;
    },
  };
}
