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
}

const MASQ_MARK = "0x4000";

/** The nft script that atomically replaces the table with rules for `ports`; duplicates are reported, not rendered. */
export function render(ports: ServicePort[], options: RenderOptions): { script: string; problems: string[] } {
  const problems: string[] = [];
  const { table } = options;
  const chains: string[] = [];
  const serviceIps: string[] = [];
  const nodePorts: string[] = [];
  const noEndpoints: string[] = [];
  const noEndpointNodePorts: string[] = [];
  const sets: string[] = [];
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

    chains.push(
      chain(svc, [
        // Off-cluster clients reaching a ClusterIP get masqueraded so replies come back through this node.
        `ip saddr != ${options.clusterCidr} meta mark set meta mark | ${MASQ_MARK}`,
        ...spread(cluster, epChain, sp.affinitySeconds ? affinity : undefined),
      ]),
    );
    chains.push(
      chain(
        ext,
        sp.externalLocal
          ? [
              // Pods still get the whole service; outside clients keep their address and reach local endpoints only.
              `ip saddr ${options.clusterCidr} goto ${q(svc)}`,
              ...spread(external, epChain, sp.affinitySeconds ? affinity : undefined),
            ]
          : [`meta mark set meta mark | ${MASQ_MARK}`, `goto ${q(svc)}`],
      ),
    );
    for (const e of sp.endpoints) {
      const body = [
        // Hairpin: a pod reaching itself through its Service must not see its own address as the source.
        `ip saddr ${e.ip} meta mark set meta mark | ${MASQ_MARK}`,
      ];
      if (sp.affinitySeconds) {
        sets.push(
          `\tset ${q(affinity(e))} {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout ${sp.affinitySeconds}s\n\t}`,
        );
        body.push(`update @${q(affinity(e))} { ip saddr }`);
      }
      body.push(`meta l4proto ${sp.protocol} dnat to ${e.ip}:${e.port}`);
      chains.push(chain(epChain(e), body));
    }
  }

  const script = [
    // add + delete + define in one `nft -f` transaction: the old table is replaced atomically.
    `add table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    map("service-ips", "ipv4_addr . inet_proto . inet_service", serviceIps),
    map("service-nodeports", "inet_proto . inet_service", nodePorts),
    map("no-endpoint-services", "ipv4_addr . inet_proto . inet_service", noEndpoints),
    map("no-endpoint-nodeports", "inet_proto . inet_service", noEndpointNodePorts),
    ...sets,
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
    ...chains,
    "}",
    "",
  ].join("\n");
  return { script, problems };
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
