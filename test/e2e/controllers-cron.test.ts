/**
 * With the fast path off (CONTROLLERS_FAST_PATH=off) nothing reacts to writes;
 * the cron trigger alone (Worker scheduled(), fired here by hand) converges a
 * Deployment: first tick creates the ReplicaSet, its pods and their bindings;
 * the next tick publishes the status `kubectl rollout status` waits for.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import type { Pod } from "../../workers/reconcile/k8s.ts";
import { type Cluster, startCluster, waitFor } from "./controllers-harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2, env: { CONTROLLERS_FAST_PATH: "off" } });
});

afterAll(async () => {
  await cluster?.stop();
});

async function tick(): Promise<void> {
  const worker = await cluster.cp.mf.getWorker();
  await worker.scheduled({ cron: "* * * * *" });
}

describe("cron path alone", () => {
  it("converges a deployment on scheduled() ticks", async () => {
    await cluster.kubectl(["create", "deployment", "slow", "--image=nginx", "--replicas=2"]);
    // No tick yet: the fast path is off, so nothing made a ReplicaSet.
    const rs = await cluster.client.list(R.replicasets, "default");
    expect(rs.items).toHaveLength(0);

    await tick();
    const pods = await waitFor("2 bound pods after one tick", async () => {
      const items = (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: "app=slow" })).items;
      return items.length === 2 && items.every((p) => p.spec.nodeName) ? items : undefined;
    });
    expect(pods).toHaveLength(2);
    // The simulated kubelet reports them Running; the next tick turns that into Deployment status.
    await waitFor("pods running", async () => {
      const items = (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: "app=slow" })).items;
      return items.every((p) => p.status?.phase === "Running") ? true : undefined;
    });
    await tick();
    const out = await cluster.kubectl(["rollout", "status", "deployment/slow", "--timeout=30s"]);
    expect(out).toContain('deployment "slow" successfully rolled out');
  }, 90_000);
});
