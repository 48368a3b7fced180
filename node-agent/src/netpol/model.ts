/**
 * NetworkPolicy semantics, as kube defines them (networking.k8s.io/v1 and the
 * NetworkPolicy docs), turned into per-pod allow lists for this node's pods:
 * a pod is isolated for ingress (egress) only when some policy selecting it
 * has that policyType; what it may then receive (send) is the union of the
 * rules of those policies. Pure: policies + pods + namespaces in, allow lists
 * out, so render.ts and its tests see exactly what the enforcer would load.
 */

import {
  type Cidr,
  cidrContains,
  formatCidr4,
  formatIp4,
  parseCidr,
  parseIp,
} from "../../../workers/client/cidr.ts";
import { type LabelMatcher, labelSelectorAsMatcher } from "../../../workers/client/labels.ts";
import type { LabelSelector } from "../../../workers/client/types.ts";

/** A NetworkPolicy as the enforcer reads it. */
export interface PolicyObject {
  metadata: { name?: string; namespace?: string };
  spec?: {
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: PeerObject[]; ports?: PortObject[] }[];
    egress?: { to?: PeerObject[]; ports?: PortObject[] }[];
  };
}

interface PeerObject {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr?: string; except?: string[] };
}

interface PortObject {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

/** A Pod as the enforcer reads it. */
export interface PodObject {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[];
    initContainers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[];
  };
  status?: { phase?: string; podIP?: string; podIPs?: { ip?: string }[] };
}

/** A Namespace as the enforcer reads it. */
export interface NamespaceObject {
  metadata: { name?: string; labels?: Record<string, string> };
}

/** nft's names for the protocols a policy port may name. */
export type Protocol = "tcp" | "udp" | "sctp";

/** Who is at the other end: anyone, some pods' addresses, or a CIDR minus exceptions (IPv4, normalised). */
export type Peer =
  | { kind: "any" }
  | { kind: "ips"; ips: string[] }
  | { kind: "block"; cidr: string; except: string[] };

/** A port range on one protocol; no port means every port of that protocol. */
export interface PortRange {
  protocol: Protocol;
  port?: number;
  endPort?: number;
}

/** One allowed (peer, ports) pair; no ports means every port and protocol. */
export interface Allow {
  peer: Peer;
  ports?: PortRange[];
  /** `<namespace>/<policy>` it came from (comments in the rendered chain). */
  policy: string;
}

/** What is enforced for one pod of this node; undefined direction = not isolated that way. */
export interface PodRules {
  /** `<namespace>/<name>`. */
  pod: string;
  ip: string;
  ingress?: Allow[];
  egress?: Allow[];
}

/** A pod as the rules see it: identity, labels, IPv4 address, named ports. */
interface PodView {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  node?: string;
  namedPorts: Map<string, number>;
}

const PROTOCOLS: Record<string, Protocol> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

/** The pod's IPv4 address (status.podIPs first, as kube lists the primary there too). */
function podIPv4(pod: PodObject): string | undefined {
  const ips = [...(pod.status?.podIPs ?? []).map((p) => p.ip), pod.status?.podIP];
  for (const ip of ips) {
    const parsed = typeof ip === "string" ? parseIp(ip) : undefined;
    if (parsed?.family === 4) return formatIp4(parsed.value);
  }
  return undefined;
}

/** Pods that take part in policy: with an IPv4 address, on the pod network, not finished. */
function podViews(pods: Iterable<PodObject>): PodView[] {
  const out: PodView[] = [];
  for (const pod of pods) {
    const { name, namespace, labels } = pod.metadata;
    if (!name || !namespace || pod.spec?.hostNetwork) continue;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
    const ip = podIPv4(pod);
    if (!ip) continue;
    const namedPorts = new Map<string, number>();
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])])
      for (const p of c.ports ?? [])
        if (p.name && typeof p.containerPort === "number")
          namedPorts.set(`${PROTOCOLS[p.protocol ?? "TCP"] ?? "tcp"}/${p.name}`, p.containerPort);
    out.push({ namespace, name, labels: labels ?? {}, ip, node: pod.spec?.nodeName, namedPorts });
  }
  return out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

/** kube's policyTypes defaulting, for objects stored before it applied. */
function policyTypes(policy: PolicyObject): Set<string> {
  const given = policy.spec?.policyTypes ?? [];
  if (given.length) return new Set(given);
  return new Set((policy.spec?.egress ?? []).length ? ["Ingress", "Egress"] : ["Ingress"]);
}

interface Compiled {
  id: string;
  namespace: string;
  selects: LabelMatcher;
  types: Set<string>;
}

/** A peer resolved: the pods its selectors take, or its ipBlock. */
type PeerMatch = { pods: PodView[] } | { block: Cidr; except: Cidr[] };

/**
 * The allow lists for every pod of `nodeName` that some policy isolates.
 * Malformed policies (unknown selector operator, bad CIDR: the API server
 * refuses them, but stored objects predate validation) are skipped whole and
 * named in `problems`.
 */
export function podRules(
  policies: Iterable<PolicyObject>,
  pods: Iterable<PodObject>,
  namespaces: Iterable<NamespaceObject>,
  nodeName: string,
): { pods: PodRules[]; problems: string[] } {
  const problems: string[] = [];
  const all = podViews(pods);
  const nsLabels = new Map<string, Record<string, string>>();
  for (const ns of namespaces) if (ns.metadata.name) nsLabels.set(ns.metadata.name, ns.metadata.labels ?? {});
  // The API server sets this label on every namespace; a namespace the informer has not seen yet still has it.
  const labelsOf = (ns: string) => nsLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns };

  const local = all.filter((p) => p.node === nodeName);
  // Peer selectors repeat across policies (default-deny + allow-from-X patterns): each is resolved once per sync.
  const selected = new Map<string, PeerMatch>();
  const compiled: { c: Compiled; ingress: Rule[]; egress: Allow[] }[] = [];
  for (const policy of policies) {
    const { name, namespace } = policy.metadata;
    if (!name || !namespace) continue;
    const id = `${namespace}/${name}`;
    try {
      const c: Compiled = {
        id,
        namespace,
        selects: labelSelectorAsMatcher(policy.spec?.podSelector ?? {}),
        types: policyTypes(policy),
      };
      // Peers are resolved only for policies that select a pod of this node: the others cost nothing here.
      if (!local.some((p) => p.namespace === namespace && c.selects(p.labels))) continue;
      const rules = (
        list: { from?: PeerObject[]; to?: PeerObject[]; ports?: PortObject[] }[] | undefined,
        key: "from" | "to",
      ) => (list ?? []).map((r) => compileRule(r[key], r.ports, namespace, all, labelsOf, selected));
      compiled.push({
        c,
        ingress: c.types.has("Ingress") ? rules(policy.spec?.ingress, "from") : [],
        // Egress allows do not depend on the selected pod: resolved once per policy.
        egress: c.types.has("Egress")
          ? rules(policy.spec?.egress, "to").flatMap((rule) => egressAllows(rule, all, id))
          : [],
      });
    } catch (error) {
      problems.push(`networkpolicy ${id}: ${(error as Error).message}`);
    }
  }
  compiled.sort((a, b) => (a.c.id < b.c.id ? -1 : a.c.id > b.c.id ? 1 : 0));

  const out: PodRules[] = [];
  for (const pod of local) {
    const rules: PodRules = { pod: `${pod.namespace}/${pod.name}`, ip: pod.ip };
    for (const { c, ingress, egress } of compiled) {
      if (c.namespace !== pod.namespace || !c.selects(pod.labels)) continue;
      if (c.types.has("Ingress")) {
        rules.ingress ??= [];
        // Ingress named ports name the selected pod's own container ports.
        for (const rule of ingress) rules.ingress.push(...ingressAllows(rule, pod, c.id));
      }
      if (c.types.has("Egress")) {
        rules.egress ??= [];
        rules.egress.push(...egress);
      }
    }
    if (rules.ingress || rules.egress) out.push(rules);
  }
  return { pods: out, problems };
}

/** A rule with its peers resolved; `peers` undefined = every peer (an empty or absent from/to). */
interface Rule {
  peers?: PeerMatch[];
  ports?: { protocol: Protocol; port?: number | string; endPort?: number }[];
}

function compileRule(
  peers: PeerObject[] | undefined,
  ports: PortObject[] | undefined,
  namespace: string,
  all: PodView[],
  labelsOf: (ns: string) => Record<string, string>,
  selected: Map<string, PeerMatch>,
): Rule {
  const rule: Rule = {};
  if (ports?.length)
    rule.ports = ports.map((p) => {
      const protocol = PROTOCOLS[p.protocol ?? "TCP"];
      if (!protocol) throw new Error(`unsupported protocol ${JSON.stringify(p.protocol)}`);
      return { protocol, port: p.port, endPort: typeof p.port === "number" ? p.endPort : undefined };
    });
  if (peers?.length)
    rule.peers = peers.map((peer): PeerMatch => {
      if (peer.ipBlock) {
        const block = parseCidr(peer.ipBlock.cidr);
        if (!block) throw new Error(`invalid ipBlock.cidr ${JSON.stringify(peer.ipBlock.cidr)}`);
        const except = (peer.ipBlock.except ?? []).map((e) => {
          const cidr = parseCidr(e);
          if (!cidr) throw new Error(`invalid ipBlock.except ${JSON.stringify(e)}`);
          return cidr;
        });
        return { block, except };
      }
      // podSelector alone: this namespace; namespaceSelector alone: every pod there; both: AND.
      const key = JSON.stringify([
        peer.podSelector ?? null,
        peer.namespaceSelector ?? null,
        peer.namespaceSelector ? "" : namespace,
      ]);
      const known = selected.get(key);
      if (known) return known;
      const podMatch = peer.podSelector ? labelSelectorAsMatcher(peer.podSelector) : () => true;
      const nsMatch = peer.namespaceSelector ? labelSelectorAsMatcher(peer.namespaceSelector) : undefined;
      const pods = all.filter(
        (p) => podMatch(p.labels) && (nsMatch ? nsMatch(labelsOf(p.namespace)) : p.namespace === namespace),
      );
      const match = { pods };
      selected.set(key, match);
      return match;
    });
  return rule;
}

function inBlock(ip: string, match: { block: Cidr; except: Cidr[] }): boolean {
  const parsed = parseIp(ip);
  if (!parsed || !cidrContains(match.block, parsed)) return false;
  return !match.except.some((e) => cidrContains(e, parsed));
}

const peers = new WeakMap<PeerMatch, Peer | undefined>();

/** The peer as nft will match it (one object per match, shared by every pod the rule applies to). */
function peerOf(match: PeerMatch): Peer | undefined {
  if (!peers.has(match)) peers.set(match, toPeer(match));
  return peers.get(match);
}

/** IPv6 blocks match nothing (the pod network is IPv4); addresses sorted, so an unchanged set renders unchanged. */
function toPeer(match: PeerMatch): Peer | undefined {
  if ("pods" in match)
    return match.pods.length
      ? { kind: "ips", ips: [...new Set(match.pods.map((p) => p.ip))].sort() }
      : undefined;
  if (match.block.family !== 4) return undefined;
  return {
    kind: "block",
    cidr: formatCidr4(match.block),
    except: match.except.filter((e) => e.family === 4).map(formatCidr4),
  };
}

function numeric(ports: Rule["ports"]): PortRange[] | undefined {
  return ports?.flatMap((p) =>
    typeof p.port === "string" ? [] : [{ protocol: p.protocol, port: p.port, endPort: p.endPort }],
  );
}

function ingressAllows(rule: Rule, pod: PodView, policy: string): Allow[] {
  // Named ports resolve against this (the destination) pod; a name it does not have matches nothing.
  const ports = rule.ports?.flatMap((p): PortRange[] => {
    if (typeof p.port !== "string") return [{ protocol: p.protocol, port: p.port, endPort: p.endPort }];
    const n = pod.namedPorts.get(`${p.protocol}/${p.port}`);
    return n === undefined ? [] : [{ protocol: p.protocol, port: n }];
  });
  if (ports && ports.length === 0) return [];
  if (!rule.peers) return [{ peer: { kind: "any" }, ports, policy }];
  return rule.peers.flatMap((m) => {
    const peer = peerOf(m);
    return peer ? [{ peer, ports, policy }] : [];
  });
}

function egressAllows(rule: Rule, all: PodView[], policy: string): Allow[] {
  const out: Allow[] = [];
  const numbered = numeric(rule.ports);
  const named = rule.ports?.filter((p) => typeof p.port === "string") ?? [];
  if (!rule.ports || (numbered && numbered.length > 0)) {
    if (!rule.peers) out.push({ peer: { kind: "any" }, ports: numbered, policy });
    else
      for (const m of rule.peers) {
        const peer = peerOf(m);
        if (peer) out.push({ peer, ports: numbered, policy });
      }
  }
  // Named ports resolve per destination pod: the pods the peer covers that have the name, grouped by its number.
  for (const p of named) {
    const candidates = !rule.peers
      ? all
      : rule.peers.flatMap((m) => ("pods" in m ? m.pods : all.filter((pod) => inBlock(pod.ip, m))));
    const byPort = new Map<number, Set<string>>();
    for (const pod of candidates) {
      const n = pod.namedPorts.get(`${p.protocol}/${p.port}`);
      if (n === undefined) continue;
      byPort.set(n, (byPort.get(n) ?? new Set()).add(pod.ip));
    }
    for (const [n, ips] of [...byPort].sort((a, b) => a[0] - b[0]))
      out.push({
        peer: { kind: "ips", ips: [...ips].sort() },
        ports: [{ protocol: p.protocol, port: n }],
        policy,
      });
  }
  return out;
}

/**
 * What of the pods can change a rule (identity, labels, node, phase, addresses, named ports), as one string:
 * most pod updates (readiness, restarts, timestamps) leave it unchanged, and then the rules need no recomputing.
 */
export function podsFingerprint(pods: Iterable<PodObject>): string {
  const parts: string[] = [];
  for (const pod of pods)
    parts.push(
      JSON.stringify([
        pod.metadata.namespace,
        pod.metadata.name,
        pod.metadata.labels,
        pod.spec?.nodeName,
        pod.spec?.hostNetwork,
        pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed",
        pod.status?.podIP,
        pod.status?.podIPs,
        [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.ports),
      ]),
    );
  return parts.sort().join("\n");
}
