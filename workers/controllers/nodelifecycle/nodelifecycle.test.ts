import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import type { Node, Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { node, pod } from "../../reconcile/testing/fixtures.ts";
import { reconcileNode } from "./index.ts";

const lease = (renewTime: string, name = "n1") => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name, namespace: "kube-node-lease" },
  spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
});

/** n1 (lease renewed at 0 s) and, unless alone, n2 heard from throughout (lease at 100 s). */
function setup(extraPods: Pod[] = [], alone = false) {
  const n = node("n1");
  n.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
  const p = pod("web", { spec: { nodeName: "n1" } });
  return new FakeClient([
    { ref: R.nodes, objects: alone ? [n] : [n, node("n2")] },
    {
      ref: R.leases,
      objects: [
        lease("2026-01-01T00:00:00.000000Z"),
        ...(alone ? [] : [lease("2026-01-01T00:01:40.000000Z", "n2")]),
      ],
    },
    { ref: R.pods, objects: [p, ...extraPods] },
  ]);
}

const at = (s: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + s * 1000);

describe("node lifecycle controller", () => {
  it("leaves a node with a fresh lease alone and checks again when the grace period ends", async () => {
    const client = setup();
    const result = await reconcileNode("n1", testDeps(client, at(10)));
    expect(client.writes).toEqual([]);
    expect(result?.requeueAfterMs).toBe(30_001);
  });

  it("marks a silent node Ready=Unknown, taints it unreachable, and evicts pods after their toleration", async () => {
    const tolerant = pod("patient", {
      spec: {
        nodeName: "n1",
        tolerations: [
          {
            key: "node.kubernetes.io/unreachable",
            operator: "Exists",
            effect: "NoExecute",
            tolerationSeconds: 5,
          },
        ],
      },
    });
    const client = setup([tolerant]);
    const config = { nodeMonitorGracePeriodSeconds: 40, podEvictionTimeoutSeconds: 60 };
    const result = await reconcileNode("n1", testDeps(client, at(41), config));
    expect(
      client.writes.map((w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""}`),
    ).toEqual(["update nodes/status", "patch nodes"]);
    const n = client.all<Node>(R.nodes)[0];
    expect(n.status?.conditions?.[0]).toMatchObject({
      type: "Ready",
      status: "Unknown",
      reason: "NodeStatusUnknown",
    });
    expect(n.spec?.taints).toEqual([
      { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" },
      { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: "2026-01-01T00:00:41Z" },
    ]);
    expect(result?.requeueAfterMs).toBe(5000);
    // Safe to run twice; at +46 s the tolerant pod's 5 s are up; at +101 s the default 60 s are up too.
    await reconcileNode("n1", testDeps(client, at(46), config));
    expect(client.writes.slice(2).map((w) => `${w.verb} ${w.name}`)).toEqual(["delete patient"]);
    await reconcileNode("n1", testDeps(client, at(101), config));
    expect(client.writes.slice(3).map((w) => `${w.verb} ${w.name}`)).toEqual(["delete web"]);
    expect(client.events.map((e) => e.reason)).toEqual([
      "NodeNotReady",
      "TaintManagerEviction",
      "TaintManagerEviction",
    ]);
  });

  it("evicts nothing when every node is silent at once (kube's master disruption mode)", async () => {
    const client = setup([], true);
    const config = { nodeMonitorGracePeriodSeconds: 40, podEvictionTimeoutSeconds: 60 };
    await reconcileNode("n1", testDeps(client, at(41), config));
    const n = client.all<Node>(R.nodes)[0];
    expect(n.status?.conditions?.[0]).toMatchObject({ type: "Ready", status: "Unknown" });
    expect(n.spec?.taints).toEqual([{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }]);
    await reconcileNode("n1", testDeps(client, at(500), config));
    expect(client.writes.filter((w) => w.verb === "delete")).toEqual([]);
    expect(client.all<Pod>(R.pods).map((p) => p.metadata.name)).toEqual(["web"]);
  });

  it("removes the taints when the node is back", async () => {
    const client = setup();
    await reconcileNode("n1", testDeps(client, at(41)));
    const n = client.all<Node>(R.nodes)[0];
    n.status = { ...n.status, conditions: [{ type: "Ready", status: "True" }] };
    client.put(R.nodes, n);
    client.put(R.leases, lease("2026-01-01T00:00:50.000000Z"));
    await reconcileNode("n1", testDeps(client, at(51)));
    expect(client.all<Node>(R.nodes)[0].spec?.taints).toBeUndefined();
  });
});
