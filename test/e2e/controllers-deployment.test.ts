/**
 * Deployments end to end with real kubectl against the local control plane and
 * three simulated nodes: create → rollout status; image change within
 * maxSurge/maxUnavailable (checked on the watch history); rollout undo; scale;
 * delete cascades to ReplicaSets and pods; an unschedulable pod explains itself
 * in `kubectl describe`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import type { Pod } from "../../workers/reconcile/k8s.ts";
import { type Cluster, startCluster, waitFor } from "./controllers-harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
});

afterAll(async () => {
  await cluster?.stop();
});

const podsOf = async (app: string) =>
  (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: `app=${app}` })).items;

describe("deployments with kubectl", () => {
  it("creates a deployment whose pods are bound and Running, and rollout status succeeds", {
    timeout: 90_000,
  }, async () => {
    await cluster.kubectl(["create", "deployment", "web", "--image=nginx:1", "--replicas=3"]);
    const out = await cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]);
    expect(out).toContain('deployment "web" successfully rolled out');
    const pods = await podsOf("web");
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec.nodeName).toMatch(/^sim-node-\d$/);
      expect(p.status?.phase).toBe("Running");
    }
    // Spread across the three nodes.
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
  });

  it("rolls out an image change within maxSurge=1/maxUnavailable=0, then rolls back", {
    timeout: 120_000,
  }, async () => {
    await cluster.kubectl([
      "patch",
      "deployment/web",
      "-p",
      '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}',
    ]);
    await cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]);
    // Record every pod change from here on.
    const abort = new AbortController();
    const start = await cluster.client.list<Pod>(R.pods, "default", { labelSelector: "app=web" });
    const state = new Map(start.items.map((p) => [p.metadata.name, p]));
    let maxPods = state.size;
    let minReady = state.size;
    const readyCount = () =>
      [...state.values()].filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length;
    const watching = (async () => {
      const events = cluster.client.watch<Pod>(R.pods, "default", {
        labelSelector: "app=web",
        resourceVersion: start.metadata.resourceVersion,
        signal: abort.signal,
      });
      for await (const e of events) {
        if (e.type === "DELETED") state.delete(e.object.metadata.name);
        else if (e.type === "ADDED" || e.type === "MODIFIED") state.set(e.object.metadata.name, e.object);
        const active = [...state.values()].filter((p) => !p.metadata.deletionTimestamp).length;
        maxPods = Math.max(maxPods, active);
        minReady = Math.min(minReady, readyCount());
      }
    })();
    try {
      await cluster.kubectl(["set", "image", "deployment/web", "nginx=nginx:2"]);
      await cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]);
      await waitFor("all pods on nginx:2", async () => {
        const pods = await podsOf("web");
        return pods.length === 3 && pods.every((p) => p.spec.containers[0].image === "nginx:2")
          ? true
          : undefined;
      });
    } finally {
      abort.abort();
      await watching.catch(() => {});
    }
    expect(maxPods).toBeLessThanOrEqual(4);
    expect(minReady).toBeGreaterThanOrEqual(3);

    const history = await cluster.kubectl(["rollout", "history", "deployment/web"]);
    expect(history).toMatch(/1\s+<none>/);
    expect(history).toMatch(/2\s+<none>/);
    await cluster.kubectl(["rollout", "undo", "deployment/web"]);
    await cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]);
    const back = await waitFor("all pods back on nginx:1", async () => {
      const pods = await podsOf("web");
      return pods.length === 3 && pods.every((p) => p.spec.containers[0].image === "nginx:1")
        ? pods
        : undefined;
    });
    expect(back).toHaveLength(3);
    const rs = JSON.parse(await cluster.kubectl(["get", "rs", "-l", "app=web", "-o", "json"])) as {
      items: { spec: { replicas: number }; metadata: { annotations: Record<string, string> } }[];
    };
    const revisions = rs.items.map((r) => [
      r.metadata.annotations["deployment.kubernetes.io/revision"],
      r.spec.replicas,
    ]);
    expect(revisions.sort()).toEqual([
      ["2", 0],
      ["3", 3],
    ]);
  });

  it("scales with kubectl scale", async () => {
    await cluster.kubectl(["scale", "deployment/web", "--replicas=5"]);
    await cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]);
    const pods = await waitFor("5 running pods", async () => {
      const items = (await podsOf("web")).filter((p) => p.status?.phase === "Running");
      return items.length === 5 ? items : undefined;
    });
    expect(pods).toHaveLength(5);
    const dep = JSON.parse(await cluster.kubectl(["get", "deployment", "web", "-o", "json"]));
    expect(dep.status).toMatchObject({
      replicas: 5,
      updatedReplicas: 5,
      readyReplicas: 5,
      availableReplicas: 5,
    });
  });

  it("deleting the deployment removes its ReplicaSets and pods", async () => {
    await cluster.kubectl(["delete", "deployment", "web"]);
    await waitFor("ReplicaSets and pods gone", async () => {
      const rs = await cluster.client.list(R.replicasets, "default", { labelSelector: "app=web" });
      const pods = await podsOf("web");
      return rs.items.length === 0 && pods.length === 0 ? true : undefined;
    });
  });

  it("explains an unschedulable pod in kubectl describe", async () => {
    await cluster.kubectl([
      "run",
      "huge",
      "--image=nginx",
      "--overrides",
      '{"spec":{"containers":[{"name":"huge","image":"nginx","resources":{"requests":{"cpu":"64"}}}]}}',
    ]);
    const message = "0/3 nodes are available: 3 Insufficient cpu.";
    const described = await waitFor("FailedScheduling in describe", async () => {
      const out = await cluster.kubectl(["describe", "pod", "huge"]);
      return out.includes("FailedScheduling") && out.includes(message) ? out : undefined;
    });
    expect(described).toContain("Warning  FailedScheduling");
    const pod = JSON.parse(await cluster.kubectl(["get", "pod", "huge", "-o", "json"]));
    expect(pod.status.conditions).toContainEqual(
      expect.objectContaining({ type: "PodScheduled", status: "False", reason: "Unschedulable", message }),
    );
  });
});
