import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { schedulerController } from "../../scheduler/index.ts";
import type { Pod } from "../k8s.ts";
import { converge } from "../testing/converge.ts";
import { testDeps } from "../testing/deps.ts";
import { FakeClient } from "../testing/fake-client.ts";
import { node } from "../testing/fixtures.ts";
import type { DaemonSet } from "./index.ts";
import { daemonSetController, reconcileDaemonSet, targetNode } from "./index.ts";

// The scheduler binds the pinned pods; the fake kubelet then runs them.
const controllers = [daemonSetController, schedulerController];

function ds(image = "agent:1", nodeSelector?: Record<string, string>): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 1 },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { nodeSelector, containers: [{ name: "c", image }] },
      },
    },
  };
}

describe("daemonset controller", () => {
  it("creates one pod per eligible node, pinned by node affinity, skipping tainted and unselected nodes", async () => {
    const nodes = [
      node("a", { labels: { role: "edge" } }),
      node("b", { labels: { role: "edge" } }),
      node("c"),
      node("d", {
        labels: { role: "edge" },
        taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }],
      }),
    ];
    const client = new FakeClient([
      { ref: R.nodes, objects: nodes },
      { ref: R.daemonsets, objects: [ds("agent:1", { role: "edge" })] },
    ]);
    await reconcileDaemonSet("default/agent", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource}`)).toEqual([
      "create pods",
      "create pods",
      "update daemonsets",
    ]);
    const pods = client.all<Pod>(R.pods);
    expect(pods.map(targetNode).sort()).toEqual(["a", "b"]);
    expect(pods[0].spec.nodeName).toBeUndefined();
    expect(pods[0].spec.tolerations?.map((t) => t.key)).toContain("node.kubernetes.io/unreachable");
    await reconcileDaemonSet("default/agent", testDeps(client));
    expect(client.writesOf("pods")).toHaveLength(2);
  });

  it("rolls a template change out one node at a time and reports status", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a"), node("b"), node("c")] },
      { ref: R.daemonsets, objects: [ds()] },
    ]);
    await converge(client, controllers);
    const d = client.all<DaemonSet>(R.daemonsets)[0];
    expect(d.status).toMatchObject({
      desiredNumberScheduled: 3,
      numberReady: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 3,
    });
    d.spec.template.spec.containers[0].image = "agent:2";
    d.metadata.generation = 2;
    client.put(R.daemonsets, d);
    let maxUnavailable = 0;
    await converge(client, controllers, {
      observe: () => {
        const ready = client.all<Pod>(R.pods).filter((p) => p.status?.phase === "Running").length;
        maxUnavailable = Math.max(maxUnavailable, 3 - ready);
      },
    });
    expect(maxUnavailable).toBe(1);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual([
      "agent:2",
      "agent:2",
      "agent:2",
    ]);
    expect(client.all<DaemonSet>(R.daemonsets)[0].status).toMatchObject({
      updatedNumberScheduled: 3,
      observedGeneration: 2,
    });
  });
});
