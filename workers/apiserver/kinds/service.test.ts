import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { runRegistryTester } from "../registry/tester.ts";
import type { RequestContext } from "../registry/types.ts";
import { testServer } from "../testing/fixture.ts";
import { findResource, RESOURCES } from "./index.ts";
import { createServiceAllocator, inUseFromServices, parseCidr } from "./service-alloc.ts";

// Strategies through their table rows, as the registry calls them: the fixtures are request bodies (KubeObject).
const serviceStrategy = findResource("", "services")!.strategy;

const services = findResource("", "services")!;
const now = new Date("2024-01-01T00:00:00Z");

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

runRegistryTester(
  services,
  {
    valid: [
      svc("web", { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] }),
      svc("np", {
        type: "NodePort",
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80 },
          { name: "https", port: 443, nodePort: 30443 },
        ],
      }),
      svc("headless", { clusterIP: "None", selector: { app: "db" } }),
      svc("ext", { type: "ExternalName", externalName: "db.example.com" }),
    ],
    invalid: [
      {
        object: svc("bad", {
          type: "Weird",
          sessionAffinity: "Sticky",
          ports: [
            { port: 0, protocol: "ICMP" },
            { name: "a", port: 80, nodePort: 30080 },
          ],
        }),
        // targetPort defaults to port (0, invalid too); nodePort is forbidden for a type that is not NodePort/LoadBalancer.
        fields: [
          "spec.type",
          "spec.sessionAffinity",
          "spec.ports[0].name",
          "spec.ports[0].port",
          "spec.ports[0].protocol",
          "spec.ports[0].targetPort",
          "spec.ports[1].nodePort",
        ],
      },
      { object: svc("noports", { selector: { app: "x" } }), fields: ["spec.ports"] },
      { object: svc("1web", { ports: [{ port: 80 }] }), fields: ["metadata.name"] },
      { object: svc("ext", { type: "ExternalName" }), fields: ["spec.externalName"] },
      {
        object: svc("cip", { ports: [{ port: 80, nodePort: 30080 }] }),
        fields: ["spec.ports[0].nodePort"],
      },
    ],
  },
  RESOURCES,
);

describe("service strategy", () => {
  const ctx = (used: { ips?: string[]; ports?: number[] } = {}): RequestContext => ({
    user: "admin",
    groups: [],
    now,
    dryRun: false,
    allocator: createServiceAllocator({
      clusterIPRange: "10.0.0.0/24",
      nodePortRange: "30000-30002",
      inUse: {
        clusterIPs: async () => new Set(used.ips ?? []),
        nodePorts: async () => new Set(used.ports ?? []),
      },
    }),
  });

  it("defaults type, affinity, protocol and targetPort", () => {
    const s = svc("d", { ports: [{ port: 80 }] });
    serviceStrategy.defaults?.(s);
    expect(s.spec).toMatchObject({
      type: "ClusterIP",
      sessionAffinity: "None",
      ports: [{ port: 80, protocol: "TCP", targetPort: 80 }],
    });
  });

  it("allocates a ClusterIP in range and NodePorts, keeping them on update", async () => {
    const s = svc("np", { type: "NodePort", ports: [{ port: 80, protocol: "TCP" }] });
    serviceStrategy.prepareForCreate?.(s, ctx());
    await serviceStrategy.allocate?.(s, undefined, ctx({ ports: [30000, 30001] }));
    const spec = s.spec as { clusterIP: string; clusterIPs: string[]; ports: { nodePort: number }[] };
    expect(spec.clusterIP).toMatch(/^10\.0\.0\.\d+$/);
    expect(spec.clusterIPs).toEqual([spec.clusterIP]);
    expect(spec.ports[0].nodePort).toBe(30002);
    const update = svc("np", { type: "NodePort", ports: [{ port: 80, protocol: "TCP" }] });
    serviceStrategy.prepareForUpdate?.(update, s, ctx());
    await serviceStrategy.allocate?.(update, s, ctx({ ports: [30000, 30001, 30002] }));
    expect(update.spec).toMatchObject({ clusterIP: spec.clusterIP, ports: [{ nodePort: 30002 }] });
  });

  it("rejects a requested ClusterIP that is taken or out of range", async () => {
    const taken = svc("t", { clusterIP: "10.0.0.9", ports: [{ port: 80 }] });
    await expect(
      serviceStrategy.allocate?.(taken, undefined, ctx({ ips: ["10.0.0.9"] })),
    ).rejects.toBeInstanceOf(ApiError);
    const outside = svc("o", { clusterIP: "10.1.0.9", ports: [{ port: 80 }] });
    await expect(serviceStrategy.allocate?.(outside, undefined, ctx())).rejects.toMatchObject({
      reason: "Invalid",
      code: 422,
    });
  });

  it("gets a ClusterIP in the default range even with no allocator wired", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const created = await call(
      "POST",
      "/api/v1/namespaces/default/services",
      svc("plain", { type: "NodePort", ports: [{ port: 80 }] }),
    );
    expect(created.status, created.text).toBe(201);
    const spec = created.body.spec as { clusterIP: string; ports: { nodePort: number }[] };
    expect(spec.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(spec.ports[0].nodePort).toBeLessThanOrEqual(32767);
  });

  it("never hands out the tenth address (kube-dns) dynamically, but gives it on request", async () => {
    // Every other host address of a /28 is taken: only 10.0.0.10 is left, and it is reserved.
    const used = new Set(["10.0.0.1", ...Array.from({ length: 13 }, (_, i) => `10.0.0.${i + 2}`)]);
    used.delete("10.0.0.10");
    const alloc = createServiceAllocator({
      clusterIPRange: "10.0.0.0/28",
      inUse: { clusterIPs: async () => used, nodePorts: async () => new Set() },
    });
    await expect(alloc.allocateClusterIP("default/web")).rejects.toMatchObject({ code: 500 });
    expect(await alloc.allocateClusterIP("kube-system/kube-dns", "10.0.0.10")).toBe("10.0.0.10");
  });

  it("finds used addresses from the stored services", async () => {
    const stored = [
      svc("a", { clusterIP: "10.0.0.7", ports: [{ port: 80, nodePort: 30001 }] }),
      svc("b", { clusterIP: "None" }),
    ];
    const inUse = inUseFromServices(async () => stored);
    expect([...(await inUse.clusterIPs("default/b"))]).toEqual(["10.0.0.7"]);
    expect([...(await inUse.clusterIPs("default/a"))]).toEqual([]);
    expect([...(await inUse.nodePorts("default/b"))]).toEqual([30001]);
  });

  it("keeps the ClusterIP immutable", () => {
    const old = svc("x", { clusterIP: "10.0.0.5", ports: [{ port: 80 }] });
    const changed = svc("x", { clusterIP: "10.0.0.6", ports: [{ port: 80 }] });
    expect(serviceStrategy.validateUpdate?.(changed, old, ctx()).map((e) => e.field)).toEqual([
      "spec.clusterIPs[0]",
    ]);
  });

  it("prints TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR", () => {
    const s = svc("p", {
      type: "NodePort",
      clusterIP: "10.96.0.10",
      selector: { app: "web" },
      ports: [
        { port: 80, nodePort: 30080, protocol: "TCP" },
        { port: 53, protocol: "UDP" },
      ],
    });
    s.metadata!.creationTimestamp = "2023-12-31T23:59:30Z";
    expect(serviceStrategy.row(s, now)).toEqual([
      "NodePort",
      "10.96.0.10",
      "<none>",
      "80:30080/TCP,53/UDP",
      "30s",
      "app=web",
    ]);
    const lb = svc("lb", { type: "LoadBalancer", clusterIP: "10.96.0.11", ports: [{ port: 80 }] });
    expect(serviceStrategy.row(lb, now)[2]).toBe("<pending>");
  });

  it("parses ranges", () => {
    expect(parseCidr("10.96.0.0/16")).toMatchObject({ size: 65536 });
    expect(() => parseCidr("10.96.0.0")).toThrow();
  });
});
