import { describe, expect, it } from "vitest";
import { R } from "../client/resources.ts";
import type { DaemonSet } from "../controllers/daemonset/index.ts";
import { daemonSetController, reconcileDaemonSet, targetNode } from "../controllers/daemonset/index.ts";
import { type ControllerRevision, templateHash } from "../controllers/history.ts";
import { converge } from "../controllers/testing/converge.ts";
import type { Pod } from "../reconcile/k8s.ts";
import { testDeps } from "../reconcile/testing/deps.ts";
import { FakeClient } from "../reconcile/testing/fake-client.ts";
import { node } from "../reconcile/testing/fixtures.ts";
import { schedulerController } from "../scheduler/index.ts";

// The scheduler binds the pinned pods; the fake kubelet then runs them.
const controllers = [daemonSetController, schedulerController];

function ds(
  image = "agent:1",
  nodeSelector?: Record<string, string>,
  revisionHistoryLimit?: number,
): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 1 },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      revisionHistoryLimit,
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
      "create controllerrevisions",
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

  // ControllerRevisions, for kubectl rollout history/undo.
  const revisions = (client: FakeClient) =>
    client
      .all<ControllerRevision>(R.controllerrevisions)
      .sort((a, b) => a.revision - b.revision)
      .map((r) => `${r.revision} ${r.metadata.name}`);
  const hashes = (client: FakeClient) => [
    ...new Set(client.all<Pod>(R.pods).map((p) => p.metadata.labels?.["controller-revision-hash"])),
  ];
  const setImage = (client: FakeClient, image: string) => {
    const d = client.all<DaemonSet>(R.daemonsets)[0];
    d.spec.template.spec.containers[0].image = image;
    d.metadata.generation = (d.metadata.generation ?? 1) + 1;
    client.put(R.daemonsets, d);
  };

  it("labels revisions with the template's labels, so a matchExpressions selector still finds them", async () => {
    const owner = ds();
    owner.spec.selector = { matchExpressions: [{ key: "app", operator: "In", values: ["agent"] }] };
    owner.spec.template.metadata = { labels: { app: "agent", tier: "node" } };
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a")] },
      { ref: R.daemonsets, objects: [owner] },
    ]);
    await reconcileDaemonSet("default/agent", testDeps(client));
    const [revision] = client.all<ControllerRevision>(R.controllerrevisions);
    expect(revision.metadata.labels).toEqual({
      app: "agent",
      tier: "node",
      "controller-revision-hash": revision.metadata.name?.replace("agent-", ""),
    });
  });

  it("keeps one ControllerRevision per template; a rollback renumbers the old one instead of copying it", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a"), node("b")] },
      { ref: R.daemonsets, objects: [ds()] },
    ]);
    await reconcileDaemonSet("default/agent", testDeps(client));
    const [first] = client.all<ControllerRevision>(R.controllerrevisions);
    const hash1 = first.metadata.labels?.["controller-revision-hash"];
    expect(first).toMatchObject({
      metadata: {
        name: `agent-${hash1}`,
        labels: { app: "agent", "controller-revision-hash": hash1 },
        ownerReferences: [
          { kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true, blockOwnerDeletion: true },
        ],
      },
      revision: 1,
      data: { spec: { template: { ...ds().spec.template, $patch: "replace" } } },
    });
    expect(hashes(client)).toEqual([hash1]);
    await converge(client, controllers);

    setImage(client, "agent:2");
    const before = client.writes.length;
    await reconcileDaemonSet("default/agent", testDeps(client));
    expect(client.writes[before]).toMatchObject({ verb: "create", resource: "controllerrevisions" });
    await converge(client, controllers);
    const second = client.all<ControllerRevision>(R.controllerrevisions).find((r) => r.revision === 2);
    const hash2 = second?.metadata.labels?.["controller-revision-hash"];
    expect(hash2).not.toBe(hash1);
    expect(revisions(client)).toEqual([`1 agent-${hash1}`, `2 agent-${hash2}`]);
    expect(hashes(client)).toEqual([hash2]);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual(["agent:2", "agent:2"]);

    // What `kubectl rollout undo` does: the template goes back to revision 1's.
    setImage(client, "agent:1");
    const undo = client.writes.length;
    await reconcileDaemonSet("default/agent", testDeps(client));
    expect(client.writes[undo]).toMatchObject({
      verb: "update",
      resource: "controllerrevisions",
      name: `agent-${hash1}`,
      body: { revision: 3 },
    });
    await converge(client, controllers);
    expect(client.writesOf("controllerrevisions", "create")).toHaveLength(2);
    expect(revisions(client)).toEqual([`2 agent-${hash2}`, `3 agent-${hash1}`]);
    expect(hashes(client)).toEqual([hash1]);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual(["agent:1", "agent:1"]);

    const settled = client.writes.length;
    await reconcileDaemonSet("default/agent", testDeps(client));
    expect(client.writes.slice(settled)).toEqual([]);
  });

  it("deletes the oldest revisions beyond revisionHistoryLimit once no pod runs them", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a"), node("b")] },
      { ref: R.daemonsets, objects: [ds("agent:1", undefined, 1)] },
    ]);
    await converge(client, controllers);
    const [rev1] = client.all<ControllerRevision>(R.controllerrevisions);
    setImage(client, "agent:2");
    await converge(client, controllers);
    expect(revisions(client)).toHaveLength(2); // one idle revision: within the limit
    setImage(client, "agent:3");
    await reconcileDaemonSet("default/agent", testDeps(client));
    // Revision 2 is no longer current but its pods still run, so revision 1 is the only idle one: within the limit.
    expect(client.writesOf("controllerrevisions", "delete")).toEqual([]);
    await converge(client, controllers);
    expect(client.writesOf("controllerrevisions", "delete").map((w) => w.name)).toEqual([rev1.metadata.name]);
    expect(revisions(client).map((r) => r.split(" ")[0])).toEqual(["2", "3"]);
  });

  it("a revision name taken by another object bumps status.collisionCount and hashes again", async () => {
    const taken = `agent-${templateHash(ds().spec.template)}`;
    const stranger: ControllerRevision = {
      apiVersion: "apps/v1",
      kind: "ControllerRevision",
      metadata: { name: taken, namespace: "default", labels: { app: "agent" } },
      revision: 1,
      data: { spec: { template: { $patch: "replace" } } },
    };
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a")] },
      { ref: R.daemonsets, objects: [ds()] },
      { ref: R.controllerrevisions, objects: [stranger] },
    ]);
    await expect(reconcileDaemonSet("default/agent", testDeps(client))).rejects.toThrow(
      /collisionCount now 1/,
    );
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.subresource}`)).toEqual([
      "update daemonsets status",
    ]);
    expect(client.all<DaemonSet>(R.daemonsets)[0].status?.collisionCount).toBe(1);
    await reconcileDaemonSet("default/agent", testDeps(client));
    const hash = templateHash(ds().spec.template, 1);
    expect(client.writesOf("controllerrevisions", "create").map((w) => w.name)).toEqual([`agent-${hash}`]);
    expect(hashes(client)).toEqual([hash]);
    expect(client.all<DaemonSet>(R.daemonsets)[0].status?.collisionCount).toBe(1);
  });
});
