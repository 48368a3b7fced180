import { describe, expect, it } from "vitest";
import { type ProxyService, type ProxySlice, servicePorts } from "./model.ts";
import { deltaScript, render } from "./render.ts";

const OPTS = { table: "edgeplane", bridge: "cni0", clusterCidr: "10.244.0.0/16" };

function svc(name: string, spec: ProxyService["spec"]): ProxyService {
  return { metadata: { name, namespace: "default" }, spec };
}

function slice(name: string, eps: { ip: string; node?: string; ready?: boolean }[], port = 8080): ProxySlice {
  return {
    metadata: { name: `${name}-a`, namespace: "default", labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node ?? "n1",
      conditions: { ready: e.ready },
    })),
    ports: [{ name: "", protocol: "TCP", port }],
  };
}

function rendered(services: ProxyService[], slices: ProxySlice[]) {
  const model = servicePorts(services, slices, "n1");
  const out = render(model.ports, OPTS);
  return { ...out, problems: [...model.problems, ...out.problems] };
}

describe("service proxy rules", () => {
  it("spreads a ClusterIP evenly over ready endpoints (nil ready counts as ready) and DNATs each", () => {
    const { script } = rendered(
      [svc("web", { clusterIP: "10.96.0.5", ports: [{ port: 80 }] })],
      [
        slice("web", [
          { ip: "10.244.0.3" },
          { ip: "10.244.0.2", ready: true },
          { ip: "10.244.0.4", ready: false },
        ]),
      ],
    );
    expect(script).toMatch(/^add table ip edgeplane\ndelete table ip edgeplane\ntable ip edgeplane \{/);
    expect(script).toContain("10.96.0.5 . tcp . 80 : goto svc-default/web/tcp/80");
    expect(script).toContain(
      "numgen random mod 2 vmap { 0 : goto ep-default/web/tcp/80__10.244.0.2/8080, 1 : goto ep-default/web/tcp/80__10.244.0.3/8080 }",
    );
    expect(script).toContain("meta l4proto tcp dnat to 10.244.0.3:8080");
    expect(script).not.toContain("10.244.0.4");
  });

  it("rejects a pod's connection to a ClusterIP of the range that no Service holds, after DNAT", () => {
    const model = servicePorts([svc("web", { clusterIP: "10.96.0.5", ports: [{ port: 80 }] })], [], "n1");
    const { script } = render(model.ports, { ...OPTS, serviceCidr: "10.96.0.0/16" });
    const forward = /chain filter-forward \{[^}]*\}/.exec(script)?.[0] ?? "";
    expect(forward).toContain("ct state new iifname cni0 ip daddr 10.96.0.0/16 jump reject-chain");
    // Only pods' forwarded traffic: the output hook runs before DNAT and must not see the range.
    expect(/chain filter-output \{[^}]*\}/.exec(script)?.[0]).not.toContain("10.96.0.0/16");
    expect(render(model.ports, OPTS).script).not.toContain("10.96.0.0/16");
  });

  it("gives headless and ExternalName Services no rules, and rejects ports without endpoints", () => {
    const { script } = rendered(
      [
        svc("headless", { clusterIP: "None", ports: [{ port: 80 }] }),
        svc("ext", { type: "ExternalName", ports: [{ port: 80 }] }),
        svc("empty", { clusterIP: "10.96.0.6", type: "NodePort", ports: [{ port: 80, nodePort: 30001 }] }),
      ],
      [slice("headless", [{ ip: "10.244.0.2" }])],
    );
    expect(script).not.toContain("headless");
    expect(script).not.toContain("ext-default/ext");
    expect(script).toContain("10.96.0.6 . tcp . 80 : goto reject-chain");
    expect(script).toContain("tcp . 30001 : goto reject-chain");
  });

  it("honours traffic policies: Local internal traffic and Local external traffic use this node's endpoints", () => {
    const { script } = rendered(
      [
        svc("int", { clusterIP: "10.96.0.7", internalTrafficPolicy: "Local", ports: [{ port: 80 }] }),
        svc("ext", {
          clusterIP: "10.96.0.8",
          type: "NodePort",
          externalTrafficPolicy: "Local",
          ports: [{ port: 80, nodePort: 30002 }],
        }),
      ],
      [
        slice("int", [{ ip: "10.244.0.2" }, { ip: "10.244.1.2", node: "n2" }]),
        slice("ext", [{ ip: "10.244.0.3" }, { ip: "10.244.1.3", node: "n2" }]),
      ],
    );
    expect(script).toMatch(
      /chain svc-default\/int\/tcp\/80 \{[^}]*mod 1 vmap \{ 0 : goto ep-default\/int\/tcp\/80__10\.244\.0\.2\/8080 \}/,
    );
    // External Local: no masquerade mark, pods still get every endpoint through the service chain.
    expect(script).toMatch(
      /chain ext-default\/ext\/tcp\/80 \{\n\t\tip saddr 10\.244\.0\.0\/16 goto svc-default\/ext\/tcp\/80\n\t\tnumgen random mod 1 vmap \{ 0 : goto ep-default\/ext\/tcp\/80__10\.244\.0\.3\/8080 \}/,
    );
    expect(script).toMatch(/chain svc-default\/ext\/tcp\/80 \{[^}]*mod 2 vmap/);
  });

  it("skips malformed and conflicting input by name and keeps every other Service", () => {
    const { script, problems } = rendered(
      [
        svc("a", { clusterIP: "10.96.0.9", type: "NodePort", ports: [{ port: 80, nodePort: 30003 }] }),
        svc("b", { clusterIP: "10.96.0.10", type: "NodePort", ports: [{ port: 80, nodePort: 30003 }] }),
        svc("bad-ip", { clusterIP: "10.96.0.999", ports: [{ port: 80 }] }),
        svc("bad-port", {
          clusterIP: "10.96.0.11",
          ports: [{ port: 70000 }, { port: 81, protocol: "ICMP" }],
        }),
        {
          metadata: { name: "Bad;Name", namespace: "default" },
          spec: { clusterIP: "10.96.0.12", ports: [{ port: 80 }] },
        },
      ],
      [
        slice("a", [{ ip: "10.244.0.2" }]),
        slice("b", [{ ip: "10.244.0.3" }, { ip: "1.2.3.4; flush ruleset" }]),
      ],
    );
    expect(problems.join("\n")).toMatch(/default\/b\/tcp\/80: nodePort 30003\/tcp already used/);
    expect(problems.join("\n")).toMatch(/bad-ip.*not IPv4/);
    expect(problems.join("\n")).toMatch(/bad-port: invalid port/);
    expect(problems.join("\n")).toMatch(/invalid name/);
    expect(script).toContain("tcp . 30003 : goto ext-default/a/tcp/80");
    expect(script).toContain("10.96.0.10 . tcp . 80 : goto svc-default/b/tcp/80");
    expect(script).not.toContain("flush");
    expect(script).not.toContain("Bad;Name");
  });

  it("remembers clients per endpoint with ClientIP affinity (dynamic sets with the service's timeout)", () => {
    const { script } = rendered(
      [
        svc("s", {
          clusterIP: "10.96.0.13",
          sessionAffinity: "ClientIP",
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
          ports: [{ port: 80 }],
        }),
      ],
      [slice("s", [{ ip: "10.244.0.2" }])],
    );
    expect(script).toContain(
      "set aff-default/s/tcp/80__10.244.0.2/8080 {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout 60s",
    );
    expect(script).toContain(
      "ip saddr @aff-default/s/tcp/80__10.244.0.2/8080 goto ep-default/s/tcp/80__10.244.0.2/8080",
    );
    expect(script).toContain("update @aff-default/s/tcp/80__10.244.0.2/8080 { ip saddr }");
  });
});

describe("services the agent serves itself", () => {
  it("points kube-dns at the node's DNS listener and keeps that listener off-limits to other hosts", () => {
    const at = { ip: "192.168.1.5", port: 40053 };
    const model = servicePorts(
      [
        svc("kube-dns", {
          clusterIP: "10.96.0.10",
          ports: [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, protocol: "TCP" },
          ],
        }),
      ],
      [],
      "n1",
      { "default/kube-dns": { "udp/53": at, "tcp/53": at } },
    );
    const { script } = render(model.ports, {
      ...OPTS,
      listeners: [
        { ...at, protocol: "udp" },
        { ...at, protocol: "tcp" },
      ],
    });
    expect(script).toContain("meta l4proto udp dnat to 192.168.1.5:40053");
    expect(script).toContain("meta l4proto tcp dnat to 192.168.1.5:40053");
    expect(script).toContain("elements = { 192.168.1.5 . udp . 40053, 192.168.1.5 . tcp . 40053 }");
    expect(script).toContain(
      'ip daddr . meta l4proto . th dport @agent-listeners ct status & dnat == 0 iifname != "lo" drop',
    );
  });
});

describe("incremental syncs", () => {
  it("loads only what changed: nothing for an unchanged table, one chain and its elements for an endpoint swap", () => {
    const services = [
      svc("a", { clusterIP: "10.96.0.5", ports: [{ port: 80 }] }),
      svc("b", { clusterIP: "10.96.0.6", ports: [{ port: 80 }] }),
    ];
    const before = render(
      servicePorts(services, [slice("a", [{ ip: "10.244.0.2" }]), slice("b", [{ ip: "10.244.0.3" }])], "n1")
        .ports,
      OPTS,
    );
    const same = render(
      servicePorts(services, [slice("a", [{ ip: "10.244.0.2" }]), slice("b", [{ ip: "10.244.0.3" }])], "n1")
        .ports,
      OPTS,
    );
    expect(deltaScript(before.rendered, same.rendered)).toBe("");
    const after = render(
      servicePorts(services, [slice("a", [{ ip: "10.244.0.9" }]), slice("b", [{ ip: "10.244.0.3" }])], "n1")
        .ports,
      OPTS,
    );
    expect(deltaScript(before.rendered, after.rendered).split("\n").filter(Boolean)).toEqual([
      "add chain ip edgeplane ep-default/a/tcp/80__10.244.0.9/8080",
      "flush chain ip edgeplane svc-default/a/tcp/80",
      "add rule ip edgeplane svc-default/a/tcp/80 ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x4000",
      "add rule ip edgeplane svc-default/a/tcp/80 numgen random mod 1 vmap { 0 : goto ep-default/a/tcp/80__10.244.0.9/8080 }",
      "add rule ip edgeplane ep-default/a/tcp/80__10.244.0.9/8080 ip saddr 10.244.0.9 meta mark set meta mark | 0x4000",
      "add rule ip edgeplane ep-default/a/tcp/80__10.244.0.9/8080 meta l4proto tcp dnat to 10.244.0.9:8080",
      "delete chain ip edgeplane ep-default/a/tcp/80__10.244.0.2/8080",
    ]);
    // A different bridge changes the base chains: the whole table is replaced.
    const moved = render(servicePorts(services, [], "n1").ports, { ...OPTS, bridge: "br1" });
    expect(deltaScript(before.rendered, moved.rendered)).toMatch(
      /^add table ip edgeplane\ndelete table ip edgeplane\n/,
    );
  });
});
