/**
 * The manager against the real API server and store in workerd: the fast path
 * (writes through the Worker wake the singleton within milliseconds) and the
 * cron resync both carry a Deployment to bound pods.
 */
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createKubeClient, type KubeClient } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import type { Pod } from "../reconcile/k8s.ts";
import { node } from "../reconcile/testing/fixtures.ts";
import { managerStub } from "./index.ts";

function client(): KubeClient {
  return createKubeClient({
    fetch: (url, init) => SELF.fetch(url, init),
    baseUrl: "http://edgeplane.test",
    token: env.ADMIN_TOKEN,
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const deployment = (name: string, replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "100m" } } }] },
    },
  },
});

describe("controller manager", () => {
  it("runs Deployment → ReplicaSet → pods → bindings from the write fast path", async () => {
    const kube = client();
    await kube.create(R.nodes, undefined, node("fast-node"));
    await kube.create(R.deployments, "default", deployment("fast", 3));
    const bound = await until("3 bound pods", async () => {
      const pods = (await kube.list<Pod>(R.pods, "default", { labelSelector: "app=fast" })).items;
      return pods.length === 3 && pods.every((p) => p.spec.nodeName === "fast-node") ? pods : undefined;
    });
    expect(bound.map((p) => p.metadata.ownerReferences?.[0]?.kind)).toEqual([
      "ReplicaSet",
      "ReplicaSet",
      "ReplicaSet",
    ]);
    const events = (await kube.list(R.events, "default")).items.map((e) => e.reason);
    expect(events).toContain("Scheduled");
    expect(events).toContain("ScalingReplicaSet");
  });

  it("converges through resync() alone (the cron path)", async () => {
    // Written straight to the manager-less API server path would still poke; resync must work regardless.
    const kube = client();
    await kube.create(R.nodes, undefined, node("cron-node"));
    await kube.create(R.deployments, "default", deployment("cron", 2));
    const result = await managerStub(env).resync();
    expect(result.passes).toBeGreaterThanOrEqual(0);
    const pods = await until("2 bound pods", async () => {
      const items = (await kube.list<Pod>(R.pods, "default", { labelSelector: "app=cron" })).items;
      return items.length === 2 && items.every((p) => p.spec.nodeName) ? items : undefined;
    });
    expect(pods).toHaveLength(2);
  });
});
