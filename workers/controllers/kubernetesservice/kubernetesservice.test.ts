import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import type { Service as WireService } from "../../client/types.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { defaultConfig } from "../../reconcile/types.ts";
import { runPass } from "../loop.ts";
import { kubernetesServiceController, nthAddress } from "./index.ts";

type Service = KubeObject & WireService;

async function pass(client: FakeClient, config = {}): Promise<void> {
  const report = await runPass({
    controllers: [kubernetesServiceController],
    client,
    now: () => new Date("2026-01-01T00:00:00Z"),
    config: { ...defaultConfig, ...config },
    recorder: () => client.recorder,
  });
  expect([...report.failed.keys()]).toEqual([]);
}

const spec = (client: FakeClient, ns: string, name: string) =>
  client.all<Service>(R.services).find((s) => s.metadata?.namespace === ns && s.metadata?.name === name)
    ?.spec;

describe("built-in Services controller", () => {
  it("creates kubernetes (first IP, 443 https) and kube-dns (tenth IP, 53 UDP+TCP), then writes nothing", async () => {
    const client = new FakeClient([]);
    await pass(client);
    expect(client.writes.map((w) => [w.verb, w.namespace, (w.body as Service).metadata?.name])).toEqual([
      ["create", "default", "kubernetes"],
      ["create", "kube-system", "kube-dns"],
    ]);
    expect(spec(client, "default", "kubernetes")).toMatchObject({
      clusterIP: "10.96.0.1",
      ports: [{ name: "https", protocol: "TCP", port: 443 }],
    });
    expect(spec(client, "default", "kubernetes")?.selector).toBeUndefined();
    expect(spec(client, "kube-system", "kube-dns")).toMatchObject({
      clusterIP: "10.96.0.10",
      ports: [
        { name: "dns", protocol: "UDP", port: 53 },
        { name: "dns-tcp", protocol: "TCP", port: 53 },
      ],
    });
    const writes = client.writes.length;
    await pass(client);
    expect(client.writes).toHaveLength(writes);
  });

  it("re-creates a deleted one and puts changed ports back", async () => {
    const client = new FakeClient([]);
    await pass(client);
    await client.delete(R.services, "default", "kubernetes");
    await client.patch(R.services, "kube-system", "kube-dns", "merge", { spec: { ports: [{ port: 5353 }] } });
    expect(
      kubernetesServiceController.keysFor?.({
        resource: "/services",
        type: "DELETED",
        object: { metadata: { namespace: "default", name: "kubernetes" } },
      }),
    ).toEqual(["default/kubernetes"]);
    // Other Services wake nothing.
    expect(
      kubernetesServiceController.keysFor?.({
        resource: "/services",
        type: "MODIFIED",
        object: { metadata: { namespace: "default", name: "web" } },
      }),
    ).toEqual([]);
    await pass(client);
    expect(spec(client, "default", "kubernetes")?.clusterIP).toBe("10.96.0.1");
    expect(spec(client, "kube-system", "kube-dns")?.ports?.map((p) => p.port)).toEqual([53, 53]);
  });

  it("follows the configured service range", async () => {
    const client = new FakeClient([]);
    await pass(client, { serviceClusterIPRange: "172.20.0.0/20" });
    expect(spec(client, "default", "kubernetes")?.clusterIP).toBe("172.20.0.1");
    expect(spec(client, "kube-system", "kube-dns")?.clusterIP).toBe("172.20.0.10");
    expect(nthAddress("10.96.3.7/16", 10)).toBe("10.96.0.10");
    expect(nthAddress("not-a-cidr", 1)).toBeUndefined();
  });
});
