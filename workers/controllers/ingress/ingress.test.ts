import type { Ingress as WireIngress } from "kubernetes-types/networking/v1.js";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { INGRESS_REFS } from "../../ingress/routes.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { defaultConfig } from "../../reconcile/types.ts";
import { runPass } from "../loop.ts";
import { ingressStatusController } from "./index.ts";

type Ingress = KubeObject & WireIngress;

const cls = (name: string, controller: string, isDefault = false): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "IngressClass",
  metadata: {
    name,
    ...(isDefault ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } : {}),
  },
  spec: { controller },
});
const ing = (name: string, className?: string, status?: object): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: "default" },
  spec: {
    ...(className ? { ingressClassName: className } : {}),
    defaultBackend: { service: { name: "web", port: { number: 80 } } },
  },
  ...(status ? { status } : {}),
});

async function pass(client: FakeClient, ingressAddress?: string): Promise<void> {
  const report = await runPass({
    controllers: [ingressStatusController],
    client,
    now: () => new Date("2026-01-01T00:00:00Z"),
    config: { ...defaultConfig, ingressAddress },
    recorder: () => client.recorder,
  });
  expect([...report.failed.keys()]).toEqual([]);
}

const lb = (client: FakeClient, name: string) =>
  client.all<Ingress>(INGRESS_REFS.ingresses).find((i) => i.metadata?.name === name)?.status?.loadBalancer
    ?.ingress;

describe("Ingress status controller", () => {
  it("gives the Ingresses we serve the configured address, once, and leaves other classes alone", async () => {
    const client = new FakeClient([
      {
        ref: INGRESS_REFS.ingressclasses,
        objects: [cls("edgeplane", "edgeplane.dev/ingress", true), cls("nginx", "k8s.io/ingress-nginx")],
      },
      {
        ref: INGRESS_REFS.ingresses,
        objects: [
          ing("ours", "edgeplane"),
          ing("classless"),
          ing("theirs", "nginx", { loadBalancer: { ingress: [{ ip: "198.51.100.9" }] } }),
        ],
      },
    ]);
    await pass(client, "apps.example.com");
    expect(lb(client, "ours")).toEqual([{ hostname: "apps.example.com" }]);
    expect(lb(client, "classless")).toEqual([{ hostname: "apps.example.com" }]);
    expect(lb(client, "theirs")).toEqual([{ ip: "198.51.100.9" }]);
    const writes = client.writes.length;
    expect(client.writes.every((w) => w.subresource === "status")).toBe(true);
    await pass(client, "apps.example.com");
    expect(client.writes).toHaveLength(writes);
  });

  it("writes an IP as ip, and clears what it wrote when an Ingress moves to another class", async () => {
    const client = new FakeClient([
      {
        ref: INGRESS_REFS.ingressclasses,
        objects: [cls("edgeplane", "edgeplane.dev/ingress", true), cls("nginx", "k8s.io/ingress-nginx")],
      },
      { ref: INGRESS_REFS.ingresses, objects: [ing("moving", "edgeplane")] },
    ]);
    await pass(client, "127.0.0.1");
    expect(lb(client, "moving")).toEqual([{ ip: "127.0.0.1" }]);
    await client.patch(INGRESS_REFS.ingresses, "default", "moving", "merge", {
      spec: { ingressClassName: "nginx" },
    });
    await pass(client, "127.0.0.1");
    expect(lb(client, "moving") ?? []).toEqual([]);
  });
});
