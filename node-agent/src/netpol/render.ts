/**
 * Per-pod allow lists (model.ts) rendered as one nftables table of the agent's
 * own, loaded as a whole in one `nft -f` transaction. Layout: one base chain
 * on the forward hook, after the service proxy's DNAT (prerouting), so a
 * policy sees pod addresses and ports, never ClusterIPs; replies of allowed
 * connections pass on conntrack state; verdict maps send an isolated pod's
 * traffic to its own chain, which returns when a rule allows it and drops
 * otherwise. Egress is judged on the sender's node, ingress on the receiver's.
 */
import type { Allow, Peer, PodRules, PortRange } from "./model.ts";

/** Node facts the rules need. */
export interface NetpolRenderOptions {
  /** nft table name (family ip); one per agent (per bridge), like the proxy's. */
  table: string;
}

/** The nft script that atomically replaces the policy table with rules for `pods` (or removes it when none is isolated). */
export function renderPolicies(pods: PodRules[], options: NetpolRenderOptions): string {
  const t = options.table;
  // No isolated pod: no table at all, so a node without policies carries no rules (and leaves none behind).
  if (!pods.some((p) => p.ingress || p.egress)) return `add table ip ${t}\ndelete table ip ${t}\n`;
  const ingress: string[] = [];
  const egress: string[] = [];
  const chains: string[] = [];
  // Address lists longer than a few go into named sets, one per distinct list: a policy selecting many pods
  // repeats its peers in every pod's chain, and they would otherwise be written out each time.
  const sets = new Map<string, string>();
  const named = new WeakMap<string[], string>();
  const setOf = (ips: string[]): string => {
    const known = named.get(ips);
    if (known) return known;
    const key = ips.join(", ");
    const name = sets.get(key) ?? `peers-${sets.size}`;
    sets.set(key, name);
    named.set(ips, name);
    return name;
  };
  const allowRules = (allow: Allow, dir: "saddr" | "daddr"): string[] => {
    const peer = peerMatch(allow.peer, dir, setOf);
    const ports = allow.ports ? allow.ports.map(portMatch) : [""];
    const comment = `comment "${allow.policy}"`;
    return ports.map((port) => [peer, port, "return", comment].filter(Boolean).join(" "));
  };
  for (const pod of pods) {
    if (pod.ingress) {
      ingress.push(`${pod.ip} : jump ingress-${pod.ip}`);
      chains.push(
        chain(`ingress-${pod.ip}`, [
          // "A pod cannot block access to itself" (kube's docs): its own traffic back through a Service (hairpin).
          `ip saddr ${pod.ip} return`,
          ...pod.ingress.flatMap((a) => allowRules(a, "saddr")),
          "drop",
        ]),
      );
    }
    if (pod.egress) {
      egress.push(`${pod.ip} : jump egress-${pod.ip}`);
      chains.push(
        chain(`egress-${pod.ip}`, [
          `ip daddr ${pod.ip} return`,
          ...pod.egress.flatMap((a) => allowRules(a, "daddr")),
          "drop",
        ]),
      );
    }
  }
  const lines = [
    `add table ip ${t}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    map("ingress-pods"),
    map("egress-pods"),
    ...[...sets].map(
      ([elements, name]) => `\tset ${name} {\n\t\ttype ipv4_addr\n\t\telements = { ${elements} }\n\t}`,
    ),
    chain("forward", [
      // filter priority 0: after the proxy's filter-forward (-110) and long after its DNAT (prerouting).
      "type filter hook forward priority 0; policy accept;",
      // Replies and related ICMP of connections a policy let through (or that predate it, as in kube CNIs).
      "ct state established,related accept",
      // The sender's egress first: its chain returns when allowed, so the receiver's ingress is judged next.
      "ip saddr vmap @egress-pods",
      "ip daddr vmap @ingress-pods",
    ]),
    ...chains,
    "}",
    // Elements after the chains they jump to exist (as the proxy fills its maps).
    ...(ingress.length ? [`add element ip ${t} ingress-pods { ${ingress.join(", ")} }`] : []),
    ...(egress.length ? [`add element ip ${t} egress-pods { ${egress.join(", ")} }`] : []),
  ];
  return `${lines.join("\n")}\n`;
}

/** How many addresses are written inline before a named set takes over. */
const INLINE = 4;

function peerMatch(peer: Peer, dir: "saddr" | "daddr", setOf: (ips: string[]) => string): string {
  switch (peer.kind) {
    case "any":
      return "";
    case "ips":
      return peer.ips.length > INLINE
        ? `ip ${dir} @${setOf(peer.ips)}`
        : `ip ${dir} { ${[...peer.ips].sort().join(", ")} }`;
    case "block":
      return peer.except.length
        ? `ip ${dir} ${peer.cidr} ip ${dir} != { ${peer.except.join(", ")} }`
        : `ip ${dir} ${peer.cidr}`;
  }
}

function portMatch(p: PortRange): string {
  if (p.port === undefined) return `meta l4proto ${p.protocol}`;
  const range = p.endPort !== undefined && p.endPort > p.port ? `${p.port}-${p.endPort}` : `${p.port}`;
  return `meta l4proto ${p.protocol} th dport ${range}`;
}

function chain(name: string, rules: string[]): string {
  return `\tchain ${name} {\n${rules.map((r) => `\t\t${r}`).join("\n")}\n\t}`;
}

function map(name: string): string {
  return `\tmap ${name} {\n\t\ttype ipv4_addr : verdict\n\t}`;
}
