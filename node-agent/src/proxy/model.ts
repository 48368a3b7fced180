/**
 * The proxy's view of Services and EndpointSlices: only the fields that
 * decide rules, checked before they go anywhere near an nft script, so a
 * malformed object costs its own rules and never anyone else's.
 */

/** A Service as the proxy reads it. */
export interface ProxyService {
  metadata: { name?: string; namespace?: string };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: { name?: string; protocol?: string; port?: number; nodePort?: number }[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
    externalIPs?: string[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** An EndpointSlice as the proxy reads it. */
export interface ProxySlice {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    nodeName?: string;
  }[];
  ports?: { name?: string; protocol?: string; port?: number }[] | null;
}

/** One endpoint of one service port. */
export interface Endpoint {
  ip: string;
  port: number;
  local: boolean;
}

/** One proxied service port, validated. */
export interface ServicePort {
  /** `<ns>/<name>/<proto>/<port name or number>`: unique, and safe as part of an nft identifier. */
  id: string;
  clusterIP: string;
  protocol: "tcp" | "udp" | "sctp";
  port: number;
  nodePort?: number;
  /** Addresses that also lead here on `port`: externalIPs and LoadBalancer ingress IPs. */
  externalIPs: string[];
  affinitySeconds?: number;
  externalLocal: boolean;
  internalLocal: boolean;
  /** Ready endpoints (all nodes). */
  endpoints: Endpoint[];
}

/**
 * Services the agent itself serves on every node, NodeLocal-DNSCache style: `<ns>/<name>` →
 * `<proto>/<port>` → the local listener (cluster DNS behind kube-dns, the API proxy behind
 * kubernetes). They replace whatever endpoints the API lists, so no traffic leaves the node for them.
 */
export type LocalEndpoints = Record<string, Record<string, { ip: string; port: number }>>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether s is a dotted-quad IPv4 address. */
export function isIPv4(s: unknown): s is string {
  return typeof s === "string" && IPV4.test(s);
}

function isPort(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * The service ports to proxy, with their ready endpoints. Headless and
 * ExternalName Services get none; anything malformed is skipped and named in
 * `problems` (the caller logs it) without touching the rest.
 */
export function servicePorts(
  services: Iterable<ProxyService>,
  slices: Iterable<ProxySlice>,
  nodeName: string,
  local: LocalEndpoints = {},
): { ports: ServicePort[]; problems: string[] } {
  const problems: string[] = [];
  const byService = new Map<string, ProxySlice[]>();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.["kubernetes.io/service-name"];
    if (!svc || (slice.addressType ?? "IPv4") !== "IPv4") continue;
    const key = `${slice.metadata.namespace}/${svc}`;
    byService.set(key, [...(byService.get(key) ?? []), slice]);
  }
  const ports: ServicePort[] = [];
  for (const service of services) {
    const { name, namespace } = service.metadata;
    const spec = service.spec ?? {};
    if (spec.type === "ExternalName" || spec.clusterIP === "None" || !spec.clusterIP) continue;
    if (!name || !namespace || !DNS_LABEL.test(name) || !DNS_LABEL.test(namespace)) {
      problems.push(`service ${namespace}/${name}: invalid name`);
      continue;
    }
    if (!isIPv4(spec.clusterIP)) {
      problems.push(`service ${namespace}/${name}: clusterIP ${JSON.stringify(spec.clusterIP)} is not IPv4`);
      continue;
    }
    const extra = [
      ...(spec.externalIPs ?? []),
      ...(service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip),
    ].filter(isIPv4);
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    for (const p of spec.ports ?? []) {
      const protocol = (p.protocol ?? "TCP").toLowerCase();
      if (!isPort(p.port) || (protocol !== "tcp" && protocol !== "udp" && protocol !== "sctp")) {
        problems.push(`service ${namespace}/${name}: invalid port ${JSON.stringify(p)}`);
        continue;
      }
      if (p.name && !PORT_NAME.test(p.name)) {
        problems.push(`service ${namespace}/${name}: invalid port name ${JSON.stringify(p.name)}`);
        continue;
      }
      const endpoints: Endpoint[] = [];
      const seen = new Set<string>();
      for (const slice of byService.get(`${namespace}/${name}`) ?? []) {
        // The slice port that serves this service port: same name (both empty for a single unnamed port).
        const sp = (slice.ports ?? []).find(
          (s) => (s.name ?? "") === (p.name ?? "") && (s.protocol ?? "TCP").toLowerCase() === protocol,
        );
        if (!sp || !isPort(sp.port)) continue;
        for (const ep of slice.endpoints ?? []) {
          // A nil ready condition means ready (discovery.k8s.io/v1).
          if (ep.conditions?.ready === false) continue;
          const ip = ep.addresses?.[0];
          if (!isIPv4(ip) || seen.has(`${ip}:${sp.port}`)) continue;
          seen.add(`${ip}:${sp.port}`);
          endpoints.push({ ip, port: sp.port, local: ep.nodeName === nodeName });
        }
      }
      const own = local[`${namespace}/${name}`]?.[`${protocol}/${p.port}`];
      if (own) endpoints.splice(0, endpoints.length, { ...own, local: true });
      // Sorted so an unchanged set renders an unchanged script.
      endpoints.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
      ports.push({
        id: `${namespace}/${name}/${protocol}/${p.name || p.port}`,
        clusterIP: spec.clusterIP,
        protocol,
        port: p.port,
        nodePort:
          (spec.type === "NodePort" || spec.type === "LoadBalancer") && isPort(p.nodePort)
            ? p.nodePort
            : undefined,
        externalIPs: extra,
        // kube-proxy's default affinity timeout is 3 hours (core/v1 DefaultClientIPServiceAffinitySeconds).
        affinitySeconds:
          spec.sessionAffinity === "ClientIP"
            ? typeof timeout === "number" && Number.isInteger(timeout) && timeout > 0 && timeout <= 86400
              ? timeout
              : 10800
            : undefined,
        externalLocal: spec.externalTrafficPolicy === "Local",
        internalLocal: spec.internalTrafficPolicy === "Local",
        endpoints,
      });
    }
  }
  ports.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ports, problems };
}
