import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import type { Node } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import {
  CLEANUP_FINALIZER,
  LOCAL_PATH_CLEANUP,
  LOCAL_PATH_DIR,
  type PersistentVolume,
  type PersistentVolumeClaim,
  SELECTED_NODE,
} from "../../reconcile/volumes.ts";
import { reconcileVolumes, volumeKeysFor } from "./index.ts";
import { LOCAL_PATH_CLASS } from "./provision.ts";

const claim = (annotations?: Record<string, string>, storageClassName?: string): PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: "data", namespace: "default", uid: "c1", annotations },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName },
  status: { phase: "Pending" },
});
const node: Node = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "n1", annotations: { [LOCAL_PATH_DIR]: "/data/n1/storage" } },
};
const writes = (client: FakeClient) =>
  client.writes.map((w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""} ${w.name}`);

describe("volume controller", () => {
  it("makes the default local-path StorageClass once", async () => {
    const client = new FakeClient();
    await reconcileVolumes("sc", testDeps(client));
    await reconcileVolumes("sc", testDeps(client));
    expect(writes(client)).toEqual(["create storageclasses local-path"]);
  });

  it("gives a claim the default class, waits for the scheduler, then provisions on the selected node and binds in kube's order", async () => {
    const client = new FakeClient([
      { ref: R.storageclasses, objects: [LOCAL_PATH_CLASS] },
      { ref: R.persistentvolumeclaims, objects: [claim()] },
      { ref: R.nodes, objects: [node] },
    ]);
    await reconcileVolumes("pvc:default/data", testDeps(client));
    expect(writes(client)).toEqual(["update persistentvolumeclaims data"]);
    expect(client.all<PersistentVolumeClaim>(R.persistentvolumeclaims)[0].spec.storageClassName).toBe(
      "local-path",
    );
    // WaitForFirstConsumer: nothing until a pod using it is scheduled.
    await reconcileVolumes("pvc:default/data", testDeps(client));
    expect(client.writes).toHaveLength(1);

    const pvc = client.all<PersistentVolumeClaim>(R.persistentvolumeclaims)[0];
    pvc.metadata.annotations = { [SELECTED_NODE]: "n1" };
    client.put(R.persistentvolumeclaims, pvc);
    await reconcileVolumes("pvc:default/data", testDeps(client));
    expect(writes(client).slice(1)).toEqual([
      "create persistentvolumes pvc-c1",
      "update persistentvolumes/status pvc-c1",
      "update persistentvolumeclaims data",
      "update persistentvolumeclaims/status data",
    ]);
    const pv = client.all<PersistentVolume>(R.persistentvolumes)[0];
    expect(pv.spec).toMatchObject({
      hostPath: { path: "/data/n1/storage/pvc-c1", type: "DirectoryOrCreate" },
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "local-path",
      capacity: { storage: "1Gi" },
      claimRef: { namespace: "default", name: "data", uid: "c1" },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
          ],
        },
      },
    });
    expect(pv.metadata.finalizers).toEqual([CLEANUP_FINALIZER]);
    expect(pv.status?.phase).toBe("Bound");
    const bound = client.all<PersistentVolumeClaim>(R.persistentvolumeclaims)[0];
    expect(bound.spec.volumeName).toBe("pvc-c1");
    expect(bound.status).toEqual({
      phase: "Bound",
      accessModes: ["ReadWriteOnce"],
      capacity: { storage: "1Gi" },
    });
    // Converged: a second run of either key writes nothing.
    await reconcileVolumes("pvc:default/data", testDeps(client));
    await reconcileVolumes("pv:pvc-c1", testDeps(client));
    expect(client.writes).toHaveLength(5);
  });

  it("binds a claim to a fitting pre-made volume (static binding)", async () => {
    const pv: PersistentVolume = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "small" },
      spec: {
        capacity: { storage: "512Mi" },
        accessModes: ["ReadWriteOnce"],
        hostPath: { path: "/x" },
        storageClassName: "manual",
      },
    };
    const big = { ...pv, metadata: { name: "big" }, spec: { ...pv.spec, capacity: { storage: "2Gi" } } };
    const client = new FakeClient([
      { ref: R.persistentvolumeclaims, objects: [claim(undefined, "manual")] },
      { ref: R.persistentvolumes, objects: [pv, big] },
    ]);
    await reconcileVolumes("pvc:default/data", testDeps(client));
    expect(writes(client)).toEqual([
      "update persistentvolumes big",
      "update persistentvolumes/status big",
      "update persistentvolumeclaims data",
      "update persistentvolumeclaims/status data",
    ]);
  });

  it("binds a delayed claim only to a pre-made volume its selected node can reach", async () => {
    const pinnedTo = (name: string, host: string): PersistentVolume => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName: "local-path",
        local: { path: "/mnt/disk" },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [host] }] },
            ],
          },
        },
      },
    });
    const n1 = { ...node, metadata: { ...node.metadata, labels: { "kubernetes.io/hostname": "n1" } } };
    const client = new FakeClient([
      { ref: R.storageclasses, objects: [LOCAL_PATH_CLASS] },
      { ref: R.nodes, objects: [n1] },
      { ref: R.persistentvolumes, objects: [pinnedTo("on-n2", "n2"), pinnedTo("on-n1", "n1")] },
      { ref: R.persistentvolumeclaims, objects: [claim({ [SELECTED_NODE]: "n1" }, "local-path")] },
    ]);
    await reconcileVolumes("pvc:default/data", testDeps(client));
    expect(writes(client)[0]).toBe("update persistentvolumes on-n1");
    expect(client.all<PersistentVolumeClaim>(R.persistentvolumeclaims)[0].spec.volumeName).toBe("on-n1");
  });

  it("a deleted claim releases its volume, asks the node to remove the directory, and lets the PV go once it has", async () => {
    const pv: PersistentVolume = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-c1", finalizers: [CLEANUP_FINALIZER] },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        hostPath: { path: "/data/n1/storage/pvc-c1" },
        claimRef: { namespace: "default", name: "data", uid: "c1" },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
            ],
          },
        },
      },
      status: { phase: "Bound" },
    };
    const client = new FakeClient([
      { ref: R.persistentvolumes, objects: [pv] },
      { ref: R.nodes, objects: [node] },
    ]);
    await reconcileVolumes("pv:pvc-c1", testDeps(client));
    expect(writes(client)).toEqual([
      "update persistentvolumes/status pvc-c1",
      "update nodes n1",
      "delete persistentvolumes pvc-c1",
    ]);
    expect(client.all<Node>(R.nodes)[0].metadata.annotations?.[LOCAL_PATH_CLEANUP]).toBe("pvc-c1");

    // The API server keeps the PV while its finalizer is there: model that.
    const deleting = { ...pv, metadata: { ...pv.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
    client.put(R.persistentvolumes, deleting);
    await reconcileVolumes("pv:pvc-c1", testDeps(client));
    expect(client.writes).toHaveLength(3); // the agent has not cleaned yet
    const n = client.all<Node>(R.nodes)[0];
    const old = structuredClone(n);
    n.metadata.annotations = { [LOCAL_PATH_DIR]: "/data/n1/storage", [LOCAL_PATH_CLEANUP]: "" };
    client.put(R.nodes, n);
    expect(volumeKeysFor({ resource: "/nodes", type: "MODIFIED", object: n, old })).toEqual(["pv:pvc-c1"]);
    // A node joining checks the default StorageClass (without waiting for the cron resync).
    expect(volumeKeysFor({ resource: "/nodes", type: "ADDED", object: n })).toEqual(["sc"]);
    await reconcileVolumes("pv:pvc-c1", testDeps(client));
    expect(writes(client).slice(3)).toEqual(["update persistentvolumes pvc-c1"]);
    expect(client.all<PersistentVolume>(R.persistentvolumes)[0].metadata.finalizers).toEqual([]);
  });
});
