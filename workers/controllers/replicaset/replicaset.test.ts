import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { pod } from "../../reconcile/testing/fixtures.ts";
import { type ReplicaSet, reconcileReplicaSet } from "./index.ts";

function rs(replicas: number): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "default", uid: "rs-uid", generation: 2 },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
    },
  };
}

const running = (p: Pod): Pod => ({
  ...p,
  spec: { ...p.spec, nodeName: "n1" },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});

describe("replicaset controller", () => {
  it("creates the missing pods with a controller ownerReference, then publishes status", async () => {
    const client = new FakeClient([{ ref: R.replicasets, objects: [rs(3)] }]);
    await reconcileReplicaSet("default/web", testDeps(client));
    const writes = client.writes.map(
      (w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""}`,
    );
    expect(writes).toEqual(["create pods", "create pods", "create pods", "update replicasets/status"]);
    const created = client.all<Pod>(R.pods);
    expect(created).toHaveLength(3);
    for (const p of created) {
      expect(p.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toEqual({ app: "web" });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web",
          uid: "rs-uid",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    expect(client.events.map((e) => e.reason)).toEqual([
      "SuccessfulCreate",
      "SuccessfulCreate",
      "SuccessfulCreate",
    ]);
    expect(client.writes[3].body).toMatchObject({ status: { replicas: 0, observedGeneration: 2 } });

    // Safe to run twice: the second pass only corrects status (now 3 pods), and a third writes nothing.
    await reconcileReplicaSet("default/web", testDeps(client));
    expect(client.writes.slice(4).map((w) => w.verb + w.resource)).toEqual(["updatereplicasets"]);
    expect(client.writes[4].body).toMatchObject({ status: { replicas: 3, readyReplicas: 0 } });
    await reconcileReplicaSet("default/web", testDeps(client));
    expect(client.writes).toHaveLength(5);
  });

  it("deletes surplus pods, unscheduled and not-ready ones first", async () => {
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true };
    const mk = (name: string, created: string) => {
      const p = pod(name, { labels: { app: "web" }, created });
      p.metadata.ownerReferences = [owner];
      return p;
    };
    const pods = [
      running(mk("old-ready", "2026-01-01T00:00:00Z")),
      mk("unscheduled", "2026-01-01T00:00:00Z"),
      running(mk("new-ready", "2026-01-02T00:00:00Z")),
    ];
    const client = new FakeClient([
      { ref: R.replicasets, objects: [rs(1)] },
      { ref: R.pods, objects: pods },
    ]);
    await reconcileReplicaSet("default/web", testDeps(client));
    expect(client.writesOf("pods", "delete").map((w) => w.name)).toEqual(["unscheduled", "new-ready"]);
    expect(client.events.map((e) => e.message)).toEqual([
      "Deleted pod: unscheduled",
      "Deleted pod: new-ready",
    ]);
  });

  it("adopts matching orphans and releases pods that no longer match", async () => {
    const orphan = running(pod("orphan", { labels: { app: "web" } }));
    const stray = running(pod("stray", { labels: { app: "other" } }));
    stray.metadata.ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true },
    ];
    const client = new FakeClient([
      { ref: R.replicasets, objects: [rs(1)] },
      { ref: R.pods, objects: [orphan, stray] },
    ]);
    await reconcileReplicaSet("default/web", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.name}`)).toEqual([
      "patch pods orphan",
      "patch pods stray",
      "update replicasets web",
    ]);
    expect(client.writes[1].body).toEqual({ metadata: { uid: "pod-stray", ownerReferences: null } });
    expect(client.writes[2].body).toMatchObject({
      status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 },
    });
  });

  it("treats a missing ReplicaSet as done", async () => {
    const client = new FakeClient();
    await expect(reconcileReplicaSet("default/gone", testDeps(client))).resolves.toBeUndefined();
    expect(client.writes).toEqual([]);
  });
});
