import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { pod } from "../../reconcile/testing/fixtures.ts";
import { reconcileQuota } from "./index.ts";

const quota = (hard: Record<string, string>, scopes?: string[]): KubeObject => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name: "q", namespace: "default" },
  spec: { hard, ...(scopes ? { scopes } : {}) },
});

function withResources(name: string, requests: Record<string, string>, limits?: Record<string, string>): Pod {
  const p = pod(name);
  p.spec.containers[0].resources = { requests, ...(limits ? { limits } : {}) };
  return p;
}

const statusOf = (client: FakeClient) => client.all(R.resourcequotas)[0].status;

describe("resourcequota controller", () => {
  it("publishes hard and the recounted used, skipping finished pods and other namespaces; then writes nothing", async () => {
    const done = withResources("done", { cpu: "4" });
    done.status = { phase: "Succeeded" };
    const elsewhere = withResources("elsewhere", { cpu: "4" });
    elsewhere.metadata.namespace = "other";
    const client = new FakeClient([
      {
        ref: R.resourcequotas,
        objects: [
          quota({
            pods: "10",
            "requests.cpu": "4",
            "requests.memory": "1Gi",
            "limits.memory": "2Gi",
            "count/pods": "20",
            configmaps: "5",
          }),
        ],
      },
      {
        ref: R.pods,
        objects: [
          withResources("a", { cpu: "500m", memory: "128Mi" }, { memory: "256Mi" }),
          withResources("b", { cpu: "250m", memory: "128Mi" }, { memory: "256Mi" }),
          done,
          elsewhere,
        ],
      },
      {
        ref: R.configmaps,
        objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "default" } }],
      },
    ]);
    await reconcileQuota("default/q", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource}/${w.subresource}`)).toEqual([
      "update resourcequotas/status",
    ]);
    expect(statusOf(client)).toEqual({
      hard: {
        pods: "10",
        "requests.cpu": "4",
        "requests.memory": "1Gi",
        "limits.memory": "2Gi",
        "count/pods": "20",
        configmaps: "5",
      },
      used: {
        configmaps: "1",
        "count/pods": "3",
        "limits.memory": "512Mi",
        pods: "2",
        "requests.cpu": "750m",
        "requests.memory": "256Mi",
      },
    });
    await reconcileQuota("default/q", testDeps(client));
    expect(client.writes).toHaveLength(1);
  });

  it("frees usage once a pod is gone, and counts only pods a scope selects", async () => {
    const client = new FakeClient([
      { ref: R.resourcequotas, objects: [quota({ pods: "5" }, ["BestEffort"])] },
      { ref: R.pods, objects: [pod("besteffort"), withResources("burstable", { cpu: "1" })] },
    ]);
    await reconcileQuota("default/q", testDeps(client));
    expect(statusOf(client)).toMatchObject({ used: { pods: "1" } });
    await client.delete(R.pods, "default", "besteffort");
    await reconcileQuota("default/q", testDeps(client));
    expect(statusOf(client)).toMatchObject({ used: { pods: "0" } });
  });

  it("counts resources the controllers do not cache (count/<resource>.<group>) through the API", async () => {
    const WIDGETS = { group: "example.com", version: "v1", resource: "widgets", namespaced: true };
    /** The fake client plus the discovery document of a served CRD group. */
    class WithWidgets extends FakeClient {
      override async request(...args: unknown[]): Promise<Response> {
        if (args[0] === "/apis/example.com") return Response.json({ preferredVersion: { version: "v1" } });
        return new Response("{}", { status: 404 });
      }
    }
    const widget = (name: string, namespace = "default"): KubeObject => ({
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name, namespace },
    });
    const client = new WithWidgets([
      {
        ref: R.resourcequotas,
        objects: [
          quota({
            "count/widgets.example.com": "5",
            "count/podtemplates": "2",
            "count/gadgets.nowhere.io": "1",
          }),
        ],
      },
      { ref: WIDGETS, objects: [widget("a"), widget("b"), widget("c", "other")] },
      {
        ref: { group: "", version: "v1", resource: "podtemplates", namespaced: true },
        objects: [{ apiVersion: "v1", kind: "PodTemplate", metadata: { name: "t", namespace: "default" } }],
      },
    ]);
    await reconcileQuota("default/q", testDeps(client));
    expect(statusOf(client)).toMatchObject({
      used: { "count/widgets.example.com": "2", "count/podtemplates": "1", "count/gadgets.nowhere.io": "0" },
    });
  });
});
