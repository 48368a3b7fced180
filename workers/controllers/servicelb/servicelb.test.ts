import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import type { Service as WireService } from "../../client/types.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { defaultConfig } from "../../reconcile/types.ts";
import { runPass } from "../loop.ts";
import { serviceLBController } from "./index.ts";

type Service = KubeObject & WireService;

const node = (name: string, ip: string, ready: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  status: {
    addresses: [
      { type: "InternalIP", address: ip },
      { type: "Hostname", address: name },
    ],
    conditions: [{ type: "Ready", status: ready }],
  },
});

const service = (
  name: string,
  spec: Record<string, unknown>,
  status?: Record<string, unknown>,
): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { ports: [{ port: 80 }], ...spec },
  ...(status ? { status } : {}),
});

async function pass(client: FakeClient): Promise<void> {
  const report = await runPass({
    controllers: [serviceLBController],
    client,
    now: () => new Date("2026-01-01T00:00:00Z"),
    config: defaultConfig,
    recorder: () => client.recorder,
  });
  expect([...report.failed.keys()]).toEqual([]);
}

const ingress = (client: FakeClient, name: string) =>
  client.all<Service>(R.services).find((s) => s.metadata?.name === name)?.status?.loadBalancer?.ingress;

describe("ServiceLB controller", () => {
  it("gives LoadBalancer Services the Ready nodes' InternalIPs through the status subresource, once", async () => {
    const client = new FakeClient([
      {
        ref: R.nodes,
        objects: [
          node("b", "192.0.2.2", "True"),
          node("a", "192.0.2.1", "True"),
          node("c", "192.0.2.3", "False"),
        ],
      },
      {
        ref: R.services,
        objects: [
          service("lb", { type: "LoadBalancer" }),
          service("plain", { type: "ClusterIP" }),
          service("other", { type: "LoadBalancer", loadBalancerClass: "example.com/lb" }),
        ],
      },
    ]);
    await pass(client);
    expect(client.writes.map((w) => [w.verb, w.name, w.subresource])).toEqual([["patch", "lb", "status"]]);
    expect(ingress(client, "lb")).toEqual([{ ip: "192.0.2.1" }, { ip: "192.0.2.2" }]);
    expect(ingress(client, "plain")).toBeUndefined();
    expect(ingress(client, "other")).toBeUndefined();
    const writes = client.writes.length;
    await pass(client);
    expect(client.writes).toHaveLength(writes);
  });

  it("follows nodes becoming Ready or going, and clears the ingress of a Service that stops being a LoadBalancer", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a", "192.0.2.1", "True"), node("c", "192.0.2.3", "False")] },
      { ref: R.services, objects: [service("lb", { type: "LoadBalancer" })] },
    ]);
    await pass(client);
    expect(
      serviceLBController.keysFor?.({ resource: "/nodes", type: "MODIFIED", object: node("c", "", "") }),
    ).toEqual(["\u0000all"]);
    client.put(R.nodes, node("c", "192.0.2.3", "True"));
    await client.delete(R.nodes, undefined, "a");
    await pass(client);
    expect(ingress(client, "lb")).toEqual([{ ip: "192.0.2.3" }]);
    await client.patch(R.services, "default", "lb", "merge", { spec: { type: "ClusterIP" } });
    await pass(client);
    expect(ingress(client, "lb") ?? []).toEqual([]);
  });
});
