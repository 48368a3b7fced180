/**
 * Service ports rendered as one nftables table, the layout of kube-proxy's
 * nftables mode in miniature (k/k pkg/proxy/nftables/README.md): a verdict
 * map from ClusterIP . proto . port to a per-service chain, `numgen random
 * mod N` spreading evenly over per-endpoint chains that DNAT, NodePorts on
 * local addresses, a reject for ports without endpoints, and masquerading
 * where replies would otherwise bypass the node.
 */
import type { ServicePort } from "./model.ts";

/** Node facts the rules need. */
export interface RenderOptions {
  /** nft table name (family ip); one per agent. */
  table: string;
  /** The node's pod bridge: DNATed traffic leaving through it is masqueraded (same-bridge replies, hairpin). */
  bridge: string;
  /** All pods' addresses (cluster CIDR): traffic to a ClusterIP from outside it is masqueraded. */
  clusterCidr: string;
  /** The agent's own listeners behind Services: reachable only through their Service or from the node itself. */
  listeners?: { ip: string; protocol: string; port: number }[];
  /**
   * The Service ClusterIP range: a pod's new connection to an address in it that no Service rule took is
   * rejected at once (kube-proxy nftables mode's check for unallocated ClusterIPs) instead of heading for the
   * default route and hanging.
   */
  serviceCidr?: string;
}

const MASQ_MARK = "0x4000";

/** The nft script that atomically replaces the table with rules for `ports`; duplicates are reported, not rendered. */
export function render(
  ports: ServicePort[],
  options: RenderOptions,
): { script: string; problems: string[]; rendered: Rendered } {
  const problems: string[] = [];
  const { table } = options;
  const chains = new Map<string, string[]>();
  const serviceIps: string[] = [];
  const nodePorts: string[] = [];
  const noEndpoints: string[] = [];
  const noEndpointNodePorts: string[] = [];
  const sets = new Map<string, string>();
  const takenIps = new Set<string>();
  const takenNodePorts = new Set<string>();

  for (const sp of ports) {
    const ipKey = `${sp.clusterIP} . ${sp.protocol} . ${sp.port}`;
    if (takenIps.has(ipKey)) {
      problems.push(`${sp.id}: ${sp.clusterIP}:${sp.port}/${sp.protocol} already used by another service`);
      continue;
    }
    takenIps.add(ipKey);
    let nodePort = sp.nodePort;
    if (nodePort !== undefined && takenNodePorts.has(`${sp.protocol} . ${nodePort}`)) {
      problems.push(`${sp.id}: nodePort ${nodePort}/${sp.protocol} already used by another service`);
      nodePort = undefined;
    }
    if (nodePort !== undefined) takenNodePorts.add(`${sp.protocol} . ${nodePort}`);
    const externals = sp.externalIPs
      .map((ip) => `${ip} . ${sp.protocol} . ${sp.port}`)
      .filter((k) => !takenIps.has(k));
    for (const k of externals) takenIps.add(k);

    const cluster = sp.internalLocal ? sp.endpoints.filter((e) => e.local) : sp.endpoints;
    const external = sp.externalLocal ? sp.endpoints.filter((e) => e.local) : sp.endpoints;
    const svc = `svc-${sp.id}`;
    const ext = `ext-${sp.id}`;
    const epChain = (e: { ip: string; port: number }) => `ep-${sp.id}__${e.ip}/${e.port}`;
    const affinity = (e: { ip: string; port: number }) => `aff-${sp.id}__${e.ip}/${e.port}`;

    if (sp.endpoints.length === 0) {
      // Reject at once in the filter hooks (no DNAT happens, so the ClusterIP itself is the target).
      noEndpoints.push(`${ipKey} : goto reject-chain`);
      for (const k of externals) noEndpoints.push(`${k} : goto reject-chain`);
      if (nodePort !== undefined)
        noEndpointNodePorts.push(`${sp.protocol} . ${nodePort} : goto reject-chain`);
      continue;
    }
    serviceIps.push(`${ipKey} : goto ${q(svc)}`);
    for (const k of externals) serviceIps.push(`${k} : goto ${q(ext)}`);
    if (nodePort !== undefined) nodePorts.push(`${sp.protocol} . ${nodePort} : goto ${q(ext)}`);

    chains.set(svc, [
      // Off-cluster clients reaching a ClusterIP get masqueraded so replies come back through this node.
      `ip saddr != ${options.clusterCidr} meta mark set meta mark | ${MASQ_MARK}`,
      ...spread(cluster, epChain, sp.affinitySeconds ? affinity : undefined),
    ]);
    chains.set(
      ext,
      sp.externalLocal
        ? [
            // Pods still get the whole service; outside clients keep their address and reach local endpoints only.
            `ip saddr ${options.clusterCidr} goto ${q(svc)}`,
            ...spread(external, epChain, sp.affinitySeconds ? affinity : undefined),
          ]
        : [`meta mark set meta mark | ${MASQ_MARK}`, `goto ${q(svc)}`],
    );
    for (const e of sp.endpoints) {
      const body = [
        // Hairpin: a pod reaching itself through its Service must not see its own address as the source.
        `ip saddr ${e.ip} meta mark set meta mark | ${MASQ_MARK}`,
      ];
      if (sp.affinitySeconds) {
        sets.set(
          affinity(e),
          `{\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout ${sp.affinitySeconds}s\n\t}`,
        );
        body.push(`update @${q(affinity(e))} { ip saddr }`);
      }
      body.push(`meta l4proto ${sp.protocol} dnat to ${e.ip}:${e.port}`);
      chains.set(epChain(e), body);
    }
  }

  const maps: Record<string, string[]> = {
    "service-ips": serviceIps,
    "service-nodeports": nodePorts,
    "no-endpoint-services": noEndpoints,
    "no-endpoint-nodeports": noEndpointNodePorts,
  };
  // Everything but the per-service parts: when it changes, only a full replace will do.
  const base = [
    map("service-ips", "ipv4_addr . inet_proto . inet_service", []),
    map("service-nodeports", "inet_proto . inet_service", []),
    map("no-endpoint-services", "ipv4_addr . inet_proto . inet_service", []),
    map("no-endpoint-nodeports", "inet_proto . inet_service", []),
    chain("reject-chain", ["reject"]),
    chain("cluster-ip-check", ["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"]),
    chain("nodeport-check", [
      "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports",
    ]),
    set("agent-listeners", "ipv4_addr . inet_proto . inet_service", [
      ...new Set((options.listeners ?? []).map((l) => `${l.ip} . ${l.protocol} . ${l.port}`)),
    ]),
    hook("filter-input", "filter", "input", "-110", [
      "ct state new jump nodeport-check",
      // The node's DNS and API proxy serve pods through their Services, never other hosts directly.
      'ip daddr . meta l4proto . th dport @agent-listeners ct status & dnat == 0 iifname != "lo" drop',
    ]),
    hook("filter-forward", "filter", "forward", "-110", [
      `ct state new iifname ${q(options.bridge)} jump cluster-ip-check`,
      // After DNAT (prerouting) a served ClusterIP is an endpoint address: what is still in the range has no Service.
      ...(options.serviceCidr
        ? [`ct state new iifname ${q(options.bridge)} ip daddr ${options.serviceCidr} jump reject-chain`]
        : []),
    ]),
    hook("filter-output", "filter", "output", "-110", [
      "ct state new jump cluster-ip-check",
      "ct state new jump nodeport-check",
    ]),
    chain("cluster-ips", ["ip daddr . meta l4proto . th dport vmap @service-ips"]),
    chain("nodeports", [
      "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
    ]),
    // ClusterIPs are for this node's pods (through its bridge) and its own processes; NodePorts for everyone.
    // Scoping ClusterIPs to the bridge also keeps several local clusters on one host (tests) apart.
    hook("nat-prerouting", "nat", "prerouting", "dstnat", [
      `iifname ${q(options.bridge)} jump cluster-ips`,
      "jump nodeports",
    ]),
    hook("nat-output", "nat", "output", "-100", ["jump cluster-ips", "jump nodeports"]),
    hook("nat-postrouting", "nat", "postrouting", "srcnat", [
      `meta mark & ${MASQ_MARK} == ${MASQ_MARK} masquerade`,
      // Without br_netfilter a backend on the same bridge would answer the client directly, skipping the
      // un-DNAT; masquerading DNATed traffic into the bridge sends the reply back through the node.
      `ct status dnat ip saddr ${options.clusterCidr} oifname ${q(options.bridge)} masquerade`,
    ]),
  ].join("\n");
  const rendered = { table, base, maps, chains, sets };
  return { script: fullScript(rendered), problems, rendered };
}

/** A rendered table in parts, so the next sync can change only what differs. */
export interface Rendered {
  table: string;
  base: string;
  maps: Record<string, string[]>;
  chains: Map<string, string[]>;
  sets: Map<string, string>;
}

/** add + delete + define in one `nft -f` transaction: the old table (if any) is replaced atomically. */
export function fullScript(r: Rendered): string {
  const t = r.table;
  const lines = [`add table ip ${t}`, `delete table ip ${t}`, `table ip ${t} {`, r.base];
  for (const [name, decl] of r.sets) lines.push(`\tset ${name} ${decl}`);
  for (const [name, rules] of r.chains) lines.push(chain(name, rules));
  lines.push("}");
  for (const [name, elements] of Object.entries(r.maps))
    if (elements.length) lines.push(`add element ip ${t} ${name} { ${elements.join(", ")} }`);
  return `${lines.join("\n")}\n`;
}

/**
 * The transaction that turns table `prev` into `next` as kube-proxy's nftables mode does: new chains and sets
 * first, maps refilled, changed chains flushed and rewritten, removed chains and sets deleted last (nothing
 * refers to them by then). Affinity sets that stay keep their entries. A changed base means a full replace.
 */
export function deltaScript(prev: Rendered, next: Rendered): string {
  if (prev.base !== next.base || prev.table !== next.table) return fullScript(next);
  const t = next.table;
  const lines: string[] = [];
  for (const [name, decl] of next.sets)
    if (!prev.sets.has(name)) lines.push(`add set ip ${t} ${name} ${decl}`);
  for (const name of next.chains.keys()) if (!prev.chains.has(name)) lines.push(`add chain ip ${t} ${name}`);
  for (const [name, elements] of Object.entries(next.maps)) {
    if ((prev.maps[name] ?? []).join("\n") === elements.join("\n")) continue;
    lines.push(`flush map ip ${t} ${name}`);
    if (elements.length) lines.push(`add element ip ${t} ${name} { ${elements.join(", ")} }`);
  }
  for (const [name, rules] of next.chains) {
    const old = prev.chains.get(name);
    if (old && old.join("\n") === rules.join("\n")) continue;
    if (old) lines.push(`flush chain ip ${t} ${name}`);
    for (const rule of rules) lines.push(`add rule ip ${t} ${name} ${rule}`);
  }
  for (const name of prev.chains.keys())
    if (!next.chains.has(name)) lines.push(`delete chain ip ${t} ${name}`);
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) lines.push(`delete set ip ${t} ${name}`);
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** The rules that pick one endpoint: a remembered one (session affinity) first, else numgen over all. */
function spread(
  endpoints: { ip: string; port: number }[],
  epChain: (e: { ip: string; port: number }) => string,
  affinity?: (e: { ip: string; port: number }) => string,
): string[] {
  if (endpoints.length === 0) return ["reject"];
  const rules: string[] = [];
  if (affinity) for (const e of endpoints) rules.push(`ip saddr @${q(affinity(e))} goto ${q(epChain(e))}`);
  const arms = endpoints.map((e, i) => `${i} : goto ${q(epChain(e))}`).join(", ");
  rules.push(`numgen random mod ${endpoints.length} vmap { ${arms} }`);
  return rules;
}

/** nft identifiers: ids are built from DNS labels, digits, dots and slashes only, so they need no quoting. */
function q(name: string): string {
  return name;
}

function chain(name: string, rules: string[]): string {
  return `\tchain ${q(name)} {\n${rules.map((r) => `\t\t${r}`).join("\n")}\n\t}`;
}

function hook(name: string, type: string, at: string, priority: string, rules: string[]): string {
  return chain(name, [`type ${type} hook ${at} priority ${priority}; policy accept;`, ...rules]);
}

function set(name: string, type: string, elements: string[]): string {
  const body = elements.length ? `\n\t\telements = { ${elements.join(", ")} }` : "";
  return `\tset ${name} {\n\t\ttype ${type}${body}\n\t}`;
}

function map(name: string, type: string, elements: string[]): string {
  const body = elements.length ? `\n\t\telements = { ${elements.join(",\n\t\t\t")} }` : "";
  return `\tmap ${name} {\n\t\ttype ${type} : verdict${body}\n\t}`;
}
