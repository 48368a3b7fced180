/**
 * Cluster DNS answers synthesized from Services and EndpointSlices, after the
 * Kubernetes DNS specification (kubernetes/dns docs/specification.md) as
 * CoreDNS's kubernetes plugin serves it: A for a Service's ClusterIP, one A
 * per ready endpoint of a headless Service and `<hostname>.<svc>` for each
 * named endpoint, CNAME for ExternalName, SRV for named ports, PTR for
 * ClusterIPs and headless endpoints. TTL 5 s, as CoreDNS's default.
 */
import type { Answer } from "dns-packet";
import { isIPv4, type ProxyService, type ProxySlice } from "../proxy/model.ts";

/** Seconds every synthesized record lives (CoreDNS kubernetes plugin default). */
export const TTL = 5;

/** A Service with the fields DNS needs beyond the proxy's. */
export type DnsService = ProxyService & { spec?: { externalName?: string } };

/** A slice endpoint with the hostname headless Services publish. */
export type DnsSlice = ProxySlice & { endpoints?: { hostname?: string }[] };

/** What a name resolves to inside the zone: answers, or NXDOMAIN; undefined when the name is outside the zone. */
export type Resolution = { answers: Answer[] } | { nxdomain: true } | undefined;

/** Cluster records over live Service and EndpointSlice maps (read at query time, never copied). */
export class ClusterRecords {
  constructor(
    private readonly services: () => Iterable<DnsService>,
    private readonly slices: () => Iterable<DnsSlice>,
    readonly zone = "cluster.local",
  ) {}

  /** Answers for one question; undefined: not ours, forward it. */
  resolve(name: string, type: string): Resolution {
    const lower = name.toLowerCase().replace(/\.$/, "");
    if (lower.endsWith(".in-addr.arpa")) return this.reverse(lower, type);
    if (lower !== this.zone && !lower.endsWith(`.${this.zone}`)) return undefined;
    const labels = lower.slice(0, -this.zone.length - 1).split(".");
    if (lower === this.zone || labels.length === 0) return { answers: [] };
    if (labels.length === 1 && labels[0] === "dns-version")
      return { answers: type === "TXT" ? [{ name, type: "TXT", ttl: TTL, data: "1.1.0" }] : [] };
    // <svc>.<ns>.svc, <hostname>.<svc>.<ns>.svc, _<port>._<proto>.<svc>.<ns>.svc
    if (labels.at(-1) !== "svc") return { nxdomain: true };
    const rest = labels.slice(0, -1);
    if (rest.length === 1) return { answers: [] }; // <ns>.svc.<zone>: an empty non-terminal
    if (rest.length === 2) return this.service(name, rest[1] ?? "", rest[0] ?? "", type);
    if (rest.length === 3) return this.endpoint(name, rest[2] ?? "", rest[1] ?? "", rest[0] ?? "", type);
    if (rest.length === 4 && rest[0]?.startsWith("_") && rest[1]?.startsWith("_"))
      return this.srv(name, rest[3] ?? "", rest[2] ?? "", rest[0].slice(1), rest[1].slice(1), type);
    return { nxdomain: true };
  }

  private find(ns: string, svc: string): DnsService | undefined {
    for (const s of this.services()) if (s.metadata.namespace === ns && s.metadata.name === svc) return s;
    return undefined;
  }

  private readyEndpoints(ns: string, svc: string): { ip: string; hostname?: string }[] {
    const out: { ip: string; hostname?: string }[] = [];
    for (const slice of this.slices()) {
      if (slice.metadata.namespace !== ns || slice.metadata.labels?.["kubernetes.io/service-name"] !== svc)
        continue;
      if ((slice.addressType ?? "IPv4") !== "IPv4") continue;
      for (const ep of (slice.endpoints ?? []) as NonNullable<DnsSlice["endpoints"]> &
        NonNullable<ProxySlice["endpoints"]>) {
        const ip = ep.addresses?.[0];
        if (ep.conditions?.ready === false || !isIPv4(ip) || out.some((o) => o.ip === ip)) continue;
        out.push({ ip, hostname: ep.hostname });
      }
    }
    return out.sort((a, b) => (a.ip < b.ip ? -1 : 1));
  }

  private service(name: string, ns: string, svc: string, type: string): Resolution {
    const s = this.find(ns, svc);
    if (!s) return { nxdomain: true };
    const spec = s.spec ?? {};
    if (spec.type === "ExternalName") {
      if (!spec.externalName) return { nxdomain: true };
      return { answers: [{ name, type: "CNAME", ttl: TTL, data: spec.externalName.replace(/\.$/, "") }] };
    }
    if (type !== "A" && type !== "ANY") return { answers: [] };
    const ips = spec.clusterIP === "None" ? this.readyEndpoints(ns, svc).map((e) => e.ip) : [spec.clusterIP];
    return { answers: ips.filter(isIPv4).map((ip) => ({ name, type: "A", ttl: TTL, data: ip })) };
  }

  private endpoint(name: string, ns: string, svc: string, host: string, type: string): Resolution {
    const s = this.find(ns, svc);
    if (s?.spec?.clusterIP !== "None") return { nxdomain: true };
    const ep = this.readyEndpoints(ns, svc).find(
      (e) => e.hostname === host || e.ip.replace(/\./g, "-") === host,
    );
    if (!ep) return { nxdomain: true };
    return { answers: type === "A" || type === "ANY" ? [{ name, type: "A", ttl: TTL, data: ep.ip }] : [] };
  }

  private srv(name: string, ns: string, svc: string, port: string, proto: string, type: string): Resolution {
    const s = this.find(ns, svc);
    const p = s?.spec?.ports?.find((x) => x.name === port && (x.protocol ?? "TCP").toLowerCase() === proto);
    if (!s || !p || typeof p.port !== "number") return { nxdomain: true };
    if (type !== "SRV" && type !== "ANY") return { answers: [] };
    const base = `${svc}.${ns}.svc.${this.zone}`;
    const targets =
      s.spec?.clusterIP === "None"
        ? this.readyEndpoints(ns, svc).map((e) => `${e.hostname ?? e.ip.replace(/\./g, "-")}.${base}`)
        : [base];
    return {
      answers: targets.map((target) => ({
        name,
        type: "SRV",
        ttl: TTL,
        data: { priority: 0, weight: Math.floor(100 / targets.length), port: p.port as number, target },
      })),
    };
  }

  private reverse(name: string, type: string): Resolution {
    const ip = name.slice(0, -".in-addr.arpa".length).split(".").reverse().join(".");
    if (!isIPv4(ip)) return undefined;
    for (const s of this.services()) {
      const { name: svc, namespace: ns } = s.metadata;
      const base = `${svc}.${ns}.svc.${this.zone}`;
      let target: string | undefined;
      if (s.spec?.clusterIP === ip) target = base;
      else if (s.spec?.clusterIP === "None") {
        const ep = this.readyEndpoints(ns ?? "", svc ?? "").find((e) => e.ip === ip);
        if (ep) target = `${ep.hostname ?? ip.replace(/\./g, "-")}.${base}`;
      }
      if (target)
        return {
          answers: type === "PTR" || type === "ANY" ? [{ name, type: "PTR", ttl: TTL, data: target }] : [],
        };
    }
    // Not a cluster address: the host's resolvers may know it (CoreDNS: fallthrough in-addr.arpa).
    return undefined;
  }
}
