import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import type { PersistentVolumeClaim } from "../../reconcile/volumes.ts";
import type { ControllerRevision } from "../history.ts";
import { converge, fakeKubelet } from "../testing/converge.ts";
import { reconcileStatefulSet, type StatefulSet, statefulSetController } from "./index.ts";

function sts(replicas: number, policy?: "Parallel", revisionHistoryLimit?: number): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "default", uid: "sts-uid", generation: 1 },
    spec: {
      replicas,
      serviceName: "db",
      podManagementPolicy: policy,
      revisionHistoryLimit,
      selector: { matchLabels: { app: "db" } },
      template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "c", image: "pg:1" }] } },
    },
  };
}
const names = (client: FakeClient) =>
  client
    .all<Pod>(R.pods)
    .map((p) => p.metadata.name)
    .sort();

describe("statefulset controller", () => {
  it("creates each pod's claims from volumeClaimTemplates before the pod, and mounts them", async () => {
    const set = sts(2, "Parallel");
    set.spec.template.spec.volumes = [{ name: "data", emptyDir: {} }];
    set.spec.volumeClaimTemplates = [
      {
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ];
    const client = new FakeClient([{ ref: R.statefulsets, objects: [set] }]);
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writes.filter((w) => w.verb === "create").map((w) => `${w.resource} ${w.name}`)).toEqual([
      "controllerrevisions " + client.all(R.controllerrevisions)[0].metadata?.name,
      "persistentvolumeclaims data-db-0",
      "pods db-0",
      "persistentvolumeclaims data-db-1",
      "pods db-1",
    ]);
    const claim = client.all<PersistentVolumeClaim>(R.persistentvolumeclaims)[0];
    // Retained by default, as kube does: no owner, so deleting the set leaves the data.
    expect(claim.metadata.ownerReferences).toBeUndefined();
    expect(claim.metadata.labels).toEqual({ app: "db" });
    expect(claim.spec.resources?.requests?.storage).toBe("1Gi");
    const pod = client.all<Pod>(R.pods).find((p) => p.metadata.name === "db-1");
    expect(pod?.spec.volumes).toEqual([{ name: "data", persistentVolumeClaim: { claimName: "data-db-1" } }]);
    // Claims that exist are not created again; whenDeleted: Delete makes the set their owner.
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writesOf("persistentvolumeclaims")).toHaveLength(2);
    const owned = sts(1);
    owned.metadata = { ...owned.metadata, name: "cache", uid: "cache-uid" };
    owned.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete" };
    owned.spec.volumeClaimTemplates = set.spec.volumeClaimTemplates;
    client.put(R.statefulsets, owned);
    await reconcileStatefulSet("default/cache", testDeps(client));
    const cacheClaim = client
      .all<PersistentVolumeClaim>(R.persistentvolumeclaims)
      .find((c) => c.metadata.name === "data-cache-0");
    expect(cacheClaim?.metadata.ownerReferences).toEqual([
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        name: "cache",
        uid: "cache-uid",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it("OrderedReady: creates db-0, waits for it to be Ready, then db-1", async () => {
    const client = new FakeClient([{ ref: R.statefulsets, objects: [sts(3)] }]);
    await reconcileStatefulSet("default/db", testDeps(client));
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(names(client)).toEqual(["db-0"]);
    const p = client.all<Pod>(R.pods)[0];
    expect(p.spec.hostname).toBe("db-0");
    expect(p.spec.subdomain).toBe("db");
    expect(p.metadata.labels?.["statefulset.kubernetes.io/pod-name"]).toBe("db-0");
    fakeKubelet(client);
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(names(client)).toEqual(["db-0", "db-1"]);
    await converge(client, [statefulSetController]);
    expect(names(client)).toEqual(["db-0", "db-1", "db-2"]);
    expect(client.all<StatefulSet>(R.statefulsets)[0].status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      updatedReplicas: 3,
    });
  });

  it("Parallel: creates every pod at once; scale down removes the highest ordinals", async () => {
    const client = new FakeClient([{ ref: R.statefulsets, objects: [sts(3, "Parallel")] }]);
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(names(client)).toEqual(["db-0", "db-1", "db-2"]);
    fakeKubelet(client);
    const s = client.all<StatefulSet>(R.statefulsets)[0];
    s.spec.replicas = 1;
    client.put(R.statefulsets, s);
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writesOf("pods", "delete").map((w) => w.name)).toEqual(["db-2", "db-1"]);
  });

  it("rolls a template change from the highest ordinal down, one pod at a time", async () => {
    const client = new FakeClient([{ ref: R.statefulsets, objects: [sts(3)] }]);
    await converge(client, [statefulSetController]);
    const s = client.all<StatefulSet>(R.statefulsets)[0];
    s.spec.template.spec.containers[0].image = "pg:2";
    client.put(R.statefulsets, s);
    const before = client.writes.length;
    await converge(client, [statefulSetController]);
    expect(
      client.writes
        .slice(before)
        .filter((w) => w.verb === "delete")
        .map((w) => w.name),
    ).toEqual(["db-2", "db-1", "db-0"]);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual(["pg:2", "pg:2", "pg:2"]);
  });

  // ControllerRevisions, for kubectl rollout history/undo.
  const revisions = (client: FakeClient) =>
    client
      .all<ControllerRevision>(R.controllerrevisions)
      .sort((a, b) => a.revision - b.revision)
      .map((r) => `${r.revision} ${r.metadata.name}`);
  const podRevisions = (client: FakeClient) => [
    ...new Set(client.all<Pod>(R.pods).map((p) => p.metadata.labels?.["controller-revision-hash"])),
  ];
  const setImage = (client: FakeClient, image: string) => {
    const s = client.all<StatefulSet>(R.statefulsets)[0];
    s.spec.template.spec.containers[0].image = image;
    s.metadata.generation = (s.metadata.generation ?? 1) + 1;
    client.put(R.statefulsets, s);
  };
  const status = (client: FakeClient) => client.all<StatefulSet>(R.statefulsets)[0].status;

  it("keeps one ControllerRevision per template; status and pods name it; a rollback renumbers it", async () => {
    const client = new FakeClient([{ ref: R.statefulsets, objects: [sts(2)] }]);
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource}`)).toEqual([
      "create controllerrevisions",
      "create pods",
      "update statefulsets",
    ]);
    const [first] = client.all<ControllerRevision>(R.controllerrevisions);
    const rev1 = first.metadata.name;
    expect(first).toMatchObject({
      metadata: {
        name: `db-${first.metadata.labels?.["controller-revision-hash"]}`,
        labels: { app: "db" },
        ownerReferences: [
          { kind: "StatefulSet", name: "db", uid: "sts-uid", controller: true, blockOwnerDeletion: true },
        ],
      },
      revision: 1,
      data: { spec: { template: { ...sts(2).spec.template, $patch: "replace" } } },
    });
    expect(status(client)).toMatchObject({ updateRevision: rev1, currentRevision: rev1 });
    expect(podRevisions(client)).toEqual([rev1]);
    await converge(client, [statefulSetController]);

    setImage(client, "pg:2");
    const before = client.writes.length;
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writes[before]).toMatchObject({ verb: "create", resource: "controllerrevisions" });
    const rev2 = client.all<ControllerRevision>(R.controllerrevisions).find((r) => r.revision === 2)
      ?.metadata.name;
    expect(rev2).not.toBe(rev1);
    expect(status(client)).toMatchObject({ updateRevision: rev2, currentRevision: rev1 });
    await converge(client, [statefulSetController]);
    expect(status(client)).toMatchObject({ updateRevision: rev2, currentRevision: rev2 });
    expect(podRevisions(client)).toEqual([rev2]);
    expect(revisions(client)).toEqual([`1 ${rev1}`, `2 ${rev2}`]);

    // What `kubectl rollout undo` does: the template goes back to revision 1's.
    setImage(client, "pg:1");
    const undo = client.writes.length;
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writes[undo]).toMatchObject({
      verb: "update",
      resource: "controllerrevisions",
      name: rev1,
      body: { revision: 3 },
    });
    await converge(client, [statefulSetController]);
    expect(client.writesOf("controllerrevisions", "create")).toHaveLength(2);
    expect(revisions(client)).toEqual([`2 ${rev2}`, `3 ${rev1}`]);
    expect(status(client)).toMatchObject({ updateRevision: rev1, currentRevision: rev1 });
    expect(podRevisions(client)).toEqual([rev1]);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual(["pg:1", "pg:1"]);

    const settled = client.writes.length;
    await reconcileStatefulSet("default/db", testDeps(client));
    expect(client.writes.slice(settled)).toEqual([]);
  });

  it("deletes the oldest revisions beyond revisionHistoryLimit once nothing uses them", async () => {
    const client = new FakeClient([{ ref: R.statefulsets, objects: [sts(2, undefined, 0)] }]);
    await converge(client, [statefulSetController]);
    const [rev1] = client.all<ControllerRevision>(R.controllerrevisions);
    setImage(client, "pg:2");
    await reconcileStatefulSet("default/db", testDeps(client));
    // The pods and status.currentRevision still use revision 1: it stays for now.
    expect(revisions(client)).toHaveLength(2);
    expect(client.writesOf("controllerrevisions", "delete")).toEqual([]);
    await converge(client, [statefulSetController]);
    expect(client.writesOf("controllerrevisions", "delete").map((w) => w.name)).toEqual([rev1.metadata.name]);
    expect(revisions(client).map((r) => r.split(" ")[0])).toEqual(["2"]);
  });
});
