/**
 * NetworkPolicy → nft text: kube's semantics (isolation per policyType, union
 * of rules, peers, named/numbered/ranged ports) checked on the rendered
 * chains, and the script loaded by the real nft into a throwaway namespace.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  type NamespaceObject,
  type PodObject,
  type PolicyObject,
  podRules,
  podsFingerprint,
} from "./model.ts";
import { renderPolicies } from "./render.ts";

const execFileP = promisify(execFile);

function pod(
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  extra: {
    node?: string;
    ports?: { name: string; containerPort: number; protocol?: string }[];
    phase?: string;
  } = {},
): PodObject {
  return {
    metadata: { namespace: ns, name, labels },
    spec: { nodeName: extra.node ?? "n1", containers: [{ ports: extra.ports ?? [] }] },
    status: { phase: extra.phase ?? "Running", podIP: ip, podIPs: [{ ip }] },
  };
}

function policy(ns: string, name: string, spec: PolicyObject["spec"]): PolicyObject {
  return { metadata: { namespace: ns, name }, spec };
}

const NAMESPACES: NamespaceObject[] = [
  { metadata: { name: "a", labels: { "kubernetes.io/metadata.name": "a", team: "x" } } },
  { metadata: { name: "b", labels: { "kubernetes.io/metadata.name": "b", team: "y" } } },
];

const PODS: PodObject[] = [
  pod("a", "server", "10.244.0.2", { app: "server" }, { ports: [{ name: "http", containerPort: 8080 }] }),
  pod("a", "client", "10.244.0.3", { app: "client" }),
  pod("b", "client", "10.244.1.3", { app: "client" }, { node: "n2" }),
  pod(
    "b",
    "api",
    "10.244.1.4",
    { app: "api" },
    { node: "n2", ports: [{ name: "http", containerPort: 9090 }] },
  ),
  pod("a", "done", "10.244.0.9", { app: "client" }, { phase: "Succeeded" }),
];

/** PODS plus five more in namespace b on the other node: enough peers for a named set. */
const MANY = [
  ...PODS,
  ...[10, 11, 12, 13, 14].map((n) => pod("b", `w${n}`, `10.244.1.${n}`, { app: "w" }, { node: "n2" })),
];

function render(policies: PolicyObject[], pods = PODS) {
  const model = podRules(policies, pods, NAMESPACES, "n1");
  return { script: renderPolicies(model.pods, { table: "ep-np" }), problems: model.problems, model };
}

/** The rules of one chain of the script, without indentation. */
function rawChain(script: string, name: string): string[] | undefined {
  const m = new RegExp(`\\tchain ${name.replaceAll(".", "\\.")} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(script);
  return m?.[1]?.split("\n").map((l) => l.trim());
}

/** A chain's rules after a pod chain's first rule, the pod's own traffic (checked on its own below). */
function chainOf(script: string, name: string): string[] | undefined {
  const rules = rawChain(script, name);
  const own = /^(ingress|egress)-(.*)$/.exec(name);
  if (!rules || !own) return rules;
  expect(rules[0]).toBe(`ip ${own[1] === "ingress" ? "saddr" : "daddr"} ${own[2]} return`);
  return rules.slice(1);
}

describe("NetworkPolicy rules", () => {
  it("isolates nothing without policies: the table is removed, not left empty", () => {
    expect(render([]).script).toBe("add table ip ep-np\ndelete table ip ep-np\n");
    // A policy in another namespace isolates no pod of this one.
    expect(render([policy("c", "deny", { podSelector: {} })]).script).toBe(
      "add table ip ep-np\ndelete table ip ep-np\n",
    );
  });

  it("a pod cannot block access to itself (kube's docs): its own address passes first, both ways", () => {
    const { script } = render([policy("a", "deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })]);
    expect(rawChain(script, "ingress-10.244.0.2")).toEqual(["ip saddr 10.244.0.2 return", "drop"]);
    expect(rawChain(script, "egress-10.244.0.2")).toEqual(["ip daddr 10.244.0.2 return", "drop"]);
  });

  it("loads the table atomically with one forward hook after the proxy's DNAT", () => {
    const { script } = render([policy("a", "deny", { podSelector: {} })]);
    expect(script.startsWith("add table ip ep-np\ndelete table ip ep-np\ntable ip ep-np {\n")).toBe(true);
    expect(chainOf(script, "forward")).toEqual([
      "type filter hook forward priority 0; policy accept;",
      "ct state established,related accept",
      "ip saddr vmap @egress-pods",
      "ip daddr vmap @ingress-pods",
    ]);
  });

  it("default-deny ingress isolates every pod of the namespace for ingress only, on this node only", () => {
    const { script } = render([policy("a", "deny", { podSelector: {} })]);
    expect(chainOf(script, "ingress-10.244.0.2")).toEqual(["drop"]);
    expect(chainOf(script, "ingress-10.244.0.3")).toEqual(["drop"]);
    expect(chainOf(script, "egress-10.244.0.2")).toBeUndefined();
    // Remote pods are judged on their own node; finished pods are no one.
    expect(script).not.toContain("10.244.1.");
    expect(script).not.toContain("10.244.0.9");
    expect(script).toContain(
      "add element ip ep-np ingress-pods { 10.244.0.2 : jump ingress-10.244.0.2, 10.244.0.3 : jump ingress-10.244.0.3 }",
    );
  });

  it("a podSelector peer is the policy's namespace; allowed traffic is the union of all selecting policies", () => {
    const { script } = render([
      policy("a", "deny", { podSelector: {} }),
      policy("a", "from-client", {
        podSelector: { matchLabels: { app: "server" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: 8080 }] }],
      }),
      policy("a", "udp-range", {
        podSelector: { matchLabels: { app: "server" } },
        ingress: [{ ports: [{ protocol: "UDP", port: 5000, endPort: 5010 }, { protocol: "SCTP" }] }],
      }),
    ]);
    expect(chainOf(script, "ingress-10.244.0.2")).toEqual([
      'ip saddr { 10.244.0.3 } meta l4proto tcp th dport 8080 return comment "a/from-client"',
      'meta l4proto udp th dport 5000-5010 return comment "a/udp-range"',
      'meta l4proto sctp return comment "a/udp-range"',
      "drop",
    ]);
    expect(chainOf(script, "ingress-10.244.0.3")).toEqual(["drop"]);
  });

  it("namespaceSelector alone takes every pod there; with a podSelector both must match", () => {
    const { script } = render([
      policy("a", "ns", {
        podSelector: { matchLabels: { app: "server" } },
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { team: "y" } } }] },
          {
            from: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "b" } },
                podSelector: { matchLabels: { app: "api" } },
              },
            ],
            ports: [{ port: 443 }],
          },
        ],
      }),
    ]);
    expect(chainOf(script, "ingress-10.244.0.2")).toEqual([
      'ip saddr { 10.244.1.3, 10.244.1.4 } return comment "a/ns"',
      'ip saddr { 10.244.1.4 } meta l4proto tcp th dport 443 return comment "a/ns"',
      "drop",
    ]);
  });

  it("ipBlock with except, and a peer that matches no pod allows nothing", () => {
    const { script } = render([
      policy("a", "block", {
        podSelector: { matchLabels: { app: "server" } },
        ingress: [
          {
            from: [
              { ipBlock: { cidr: "10.244.1.7/16", except: ["10.244.1.0/24"] } },
              { ipBlock: { cidr: "2001:db8::/32" } },
            ],
          },
          { from: [{ podSelector: { matchLabels: { app: "nobody" } } }] },
        ],
      }),
    ]);
    expect(chainOf(script, "ingress-10.244.0.2")).toEqual([
      'ip saddr 10.244.0.0/16 ip saddr != { 10.244.1.0/24 } return comment "a/block"',
      "drop",
    ]);
  });

  it("named ports resolve per destination pod: the selected pod for ingress, each peer pod for egress", () => {
    const { script } = render([
      policy("a", "named-in", {
        podSelector: {},
        ingress: [{ ports: [{ port: "http" }] }],
      }),
      policy("a", "named-out", {
        podSelector: { matchLabels: { app: "client" } },
        policyTypes: ["Egress"],
        egress: [
          { to: [{ namespaceSelector: {} }], ports: [{ port: "http" }, { port: 53, protocol: "UDP" }] },
          {
            to: [{ ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.1.4/32"] } }],
            ports: [{ port: "http" }],
          },
        ],
      }),
    ]);
    // server has "http" = 8080; client has no such port, so the rule allows it nothing.
    expect(chainOf(script, "ingress-10.244.0.2")).toEqual([
      'meta l4proto tcp th dport 8080 return comment "a/named-in"',
      "drop",
    ]);
    expect(chainOf(script, "ingress-10.244.0.3")).toEqual(["drop"]);
    expect(chainOf(script, "egress-10.244.0.3")).toEqual([
      'ip daddr { 10.244.0.2, 10.244.0.3, 10.244.1.3, 10.244.1.4 } meta l4proto udp th dport 53 return comment "a/named-out"',
      'ip daddr { 10.244.0.2 } meta l4proto tcp th dport 8080 return comment "a/named-out"',
      'ip daddr { 10.244.1.4 } meta l4proto tcp th dport 9090 return comment "a/named-out"',
      'ip daddr { 10.244.0.2 } meta l4proto tcp th dport 8080 return comment "a/named-out"',
      "drop",
    ]);
  });

  it("egress isolation follows policyTypes, defaulted as kube does when absent", () => {
    const typed = render([
      policy("a", "ingress-only", { podSelector: {}, policyTypes: ["Ingress"], egress: [{}] }),
    ]);
    expect(chainOf(typed.script, "egress-10.244.0.3")).toBeUndefined();
    const defaulted = render([
      policy("a", "with-egress", { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: "UDP" }] }] }),
    ]);
    expect(chainOf(defaulted.script, "ingress-10.244.0.3")).toEqual(["drop"]);
    expect(chainOf(defaulted.script, "egress-10.244.0.3")).toEqual([
      'meta l4proto udp th dport 53 return comment "a/with-egress"',
      "drop",
    ]);
    const egressOnly = render([policy("a", "deny-out", { podSelector: {}, policyTypes: ["Egress"] })]);
    expect(chainOf(egressOnly.script, "egress-10.244.0.3")).toEqual(["drop"]);
    expect(chainOf(egressOnly.script, "ingress-10.244.0.3")).toBeUndefined();
  });

  it("skips a malformed policy and names it, keeping the others", () => {
    const { script, problems } = render([
      policy("a", "bad", {
        podSelector: { matchExpressions: [{ key: "x", operator: "Near" }] },
      }),
      policy("a", "deny", { podSelector: { matchLabels: { app: "server" } } }),
    ]);
    expect(problems).toEqual([expect.stringContaining("networkpolicy a/bad:")]);
    expect(chainOf(script, "ingress-10.244.0.2")).toEqual(["drop"]);
    expect(chainOf(script, "ingress-10.244.0.3")).toBeUndefined();
  });

  it("puts peer lists longer than four addresses in one named set that every pod's chain shares", () => {
    const { script } = render(
      [
        policy("a", "from-b", {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "y" } } }] }],
        }),
      ],
      MANY,
    );
    expect(script).toContain(
      "\tset peers-0 {\n\t\ttype ipv4_addr\n\t\telements = { 10.244.1.10, 10.244.1.11, 10.244.1.12, 10.244.1.13, 10.244.1.14, 10.244.1.3, 10.244.1.4 }\n\t}",
    );
    for (const ip of ["10.244.0.2", "10.244.0.3"])
      expect(chainOf(script, `ingress-${ip}`)).toEqual([
        'ip saddr @peers-0 return comment "a/from-b"',
        "drop",
      ]);
    expect(script).not.toContain("peers-1");
  });

  it("a pod update that cannot change a rule (readiness, restarts) leaves the pods' fingerprint as it was", () => {
    const base = podsFingerprint(PODS);
    const ready = structuredClone(PODS);
    (ready[0] as { status: Record<string, unknown> }).status.conditions = [{ type: "Ready", status: "True" }];
    expect(podsFingerprint([...ready].reverse())).toBe(base);
    const relabelled = structuredClone(PODS);
    relabelled[0]!.metadata.labels = { app: "other" };
    expect(podsFingerprint(relabelled)).not.toBe(base);
    const moved = structuredClone(PODS);
    moved[1]!.status = { ...moved[1]!.status, podIP: "10.244.0.77", podIPs: [{ ip: "10.244.0.77" }] };
    expect(podsFingerprint(moved)).not.toBe(base);
  });
  it("the script loads into the real kernel's nftables, twice (atomic replace)", async () => {
    const ns = `ep-np-${randomBytes(3).toString("hex")}`;
    await execFileP("ip", ["netns", "add", ns]);
    try {
      const { script } = render(
        [
          policy("a", "deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
          policy("a", "from-b", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
          policy("a", "mixed", {
            podSelector: { matchLabels: { app: "server" } },
            ingress: [
              { from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.2.0.0/16"] } }] },
              {
                from: [{ podSelector: {} }],
                ports: [{ port: 80, endPort: 90 }, { port: "http" }, { protocol: "SCTP" }],
              },
            ],
            egress: [{ ports: [{ protocol: "UDP", port: 53 }] }],
          }),
        ],
        MANY,
      );
      const load = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const child = execFile("ip", ["netns", "exec", ns, "nft", "-f", "-"], (error) =>
            error ? reject(error) : resolve(),
          );
          child.stdin?.end(text);
        });
      await load(script);
      await load(script);
      const { stdout } = await execFileP("ip", [
        "netns",
        "exec",
        ns,
        "nft",
        "list",
        "chain",
        "ip",
        "ep-np",
        "ingress-10.244.0.2",
      ]);
      // nft merges the adjacent exceptions into one interval.
      expect(stdout).toContain("ip saddr 10.0.0.0/8 ip saddr != { 10.1.0.0-10.2.255.255 } return");
      expect(stdout).toContain("tcp dport 80-90 return");
      expect(stdout).toContain("ip saddr @peers-0 return");
    } finally {
      await execFileP("ip", ["netns", "delete", ns]).catch(() => {});
    }
  });
});
