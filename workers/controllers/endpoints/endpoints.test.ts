import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { pod } from "../../reconcile/testing/fixtures.ts";
import { reconcileEndpoints } from "./index.ts";

const svc = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "default", uid: "svc-uid" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
};

function webPod(name: string, ip: string, ready: boolean) {
  const p = pod(name, {
    labels: { app: "web" },
    spec: { nodeName: "n1", containers: [{ name: "c", ports: [{ name: "http", containerPort: 8080 }] }] },
  });
  p.status = {
    phase: "Running",
    podIP: ip,
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  };
  return p;
}

describe("endpoints controller", () => {
  it("publishes ready and not-ready pod IPs with named target ports resolved, in Endpoints and an EndpointSlice", async () => {
    const client = new FakeClient([
      { ref: R.services, objects: [svc] },
      {
        ref: R.pods,
        objects: [webPod("a", "10.244.0.2", true), webPod("b", "10.244.0.3", false), pod("other")],
      },
    ]);
    await reconcileEndpoints("default/web", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource}`)).toEqual([
      "create endpoints",
      "create endpointslices",
    ]);
    const ep = client.all(R.endpoints)[0] as KubeObject & { subsets: unknown[] };
    expect(ep.subsets).toEqual([
      {
        addresses: [
          {
            ip: "10.244.0.2",
            nodeName: "n1",
            targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "pod-a" },
          },
        ],
        notReadyAddresses: [
          {
            ip: "10.244.0.3",
            nodeName: "n1",
            targetRef: { kind: "Pod", namespace: "default", name: "b", uid: "pod-b" },
          },
        ],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    ]);
    const slice = client.all(R.endpointslices)[0] as KubeObject & {
      endpoints: { conditions: { ready: boolean } }[];
    };
    expect(slice.metadata?.labels?.["kubernetes.io/service-name"]).toBe("web");
    expect(slice.endpoints.map((e) => e.conditions.ready)).toEqual([true, false]);
    await reconcileEndpoints("default/web", testDeps(client));
    expect(client.writes).toHaveLength(2);
  });
});
