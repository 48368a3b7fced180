import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { pod } from "../../reconcile/testing/fixtures.ts";
import { collect } from "./index.ts";

const owner = (name: string, uid: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: { name, namespace: "default", uid, ...extra },
  spec: { selector: {}, template: { spec: { containers: [] } } },
});
const ownedPod = (name: string, ...uids: [string, string][]) => {
  const p = pod(name);
  p.metadata.ownerReferences = uids.map(([n, uid]) => ({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: n,
    uid,
    controller: n === uids[0][0],
    blockOwnerDeletion: true,
  }));
  return p;
};

describe("garbage collector", () => {
  it("deletes dependents whose owner is gone, and drops dangling references next to a live owner", async () => {
    const client = new FakeClient([
      { ref: R.replicasets, objects: [owner("live", "u-live")] },
      {
        ref: R.pods,
        objects: [
          ownedPod("orphaned", ["gone", "u-gone"]),
          ownedPod("kept", ["live", "u-live"]),
          ownedPod("mixed", ["live", "u-live"], ["gone", "u-gone"]),
        ],
      },
    ]);
    await collect(testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.name}`)).toEqual(["delete orphaned", "patch mixed"]);
    expect(client.writes[0].body).toMatchObject({
      propagationPolicy: "Background",
      preconditions: { uid: "pod-orphaned" },
    });
    expect((client.writes[1].body as KubeObject).metadata?.ownerReferences).toHaveLength(1);
    await collect(testDeps(client));
    expect(client.writes).toHaveLength(2);
  });

  it("a replaced owner (same name, new uid) counts as gone", async () => {
    const client = new FakeClient([
      { ref: R.replicasets, objects: [owner("web", "u-new")] },
      { ref: R.pods, objects: [ownedPod("stale", ["web", "u-old"])] },
    ]);
    await collect(testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.name}`)).toEqual(["delete stale"]);
  });

  it("foreground: deletes dependents first, then removes the finalizer", async () => {
    const deleting = owner("web", "u-web", {
      deletionTimestamp: "2026-01-01T00:00:00Z",
      finalizers: ["foregroundDeletion"],
    });
    const client = new FakeClient([
      { ref: R.replicasets, objects: [deleting] },
      { ref: R.pods, objects: [ownedPod("p1", ["web", "u-web"])] },
    ]);
    const first = await collect(testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.name}`)).toEqual(["delete p1"]);
    expect(client.writes[0].body).toMatchObject({ propagationPolicy: "Foreground" });
    expect(first?.requeueAfterMs).toBeGreaterThan(0);
    await collect(testDeps(client));
    expect(client.writes.slice(1).map((w) => `${w.verb} ${w.name}`)).toEqual(["patch web"]);
    expect(client.writes[1].body).toEqual({ metadata: { uid: "u-web", finalizers: null } });
    expect(client.all(R.replicasets)).toHaveLength(0);
  });

  it("orphan: strips the owner from dependents, then removes the finalizer", async () => {
    const deleting = owner("web", "u-web", {
      deletionTimestamp: "2026-01-01T00:00:00Z",
      finalizers: ["orphan"],
    });
    const client = new FakeClient([
      { ref: R.replicasets, objects: [deleting] },
      { ref: R.pods, objects: [ownedPod("p1", ["web", "u-web"])] },
    ]);
    await collect(testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.name}`)).toEqual([
      "patch pods p1",
      "patch replicasets web",
    ]);
    expect(client.all(R.pods)[0].metadata?.ownerReferences).toBeUndefined();
  });
});
