import { describe, expect, it } from "vitest";
import { R } from "../client/resources.ts";
import type { Pod } from "../reconcile/k8s.ts";
import { testDeps } from "../reconcile/testing/deps.ts";
import { FakeClient } from "../reconcile/testing/fake-client.ts";
import { node, pod } from "../reconcile/testing/fixtures.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../reconcile/volumes.ts";
import { schedulePending } from "./index.ts";

const wffc: StorageClass = {
  metadata: { name: "local-path" },
  provisioner: "rancher.io/local-path",
  volumeBindingMode: "WaitForFirstConsumer",
};
const claim = (
  name: string,
  volumeName?: string,
  storageClassName = "local-path",
): PersistentVolumeClaim => ({
  metadata: { name, namespace: "default", uid: `uid-${name}` },
  spec: {
    storageClassName,
    volumeName,
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "1Gi" } },
  },
});
const withClaim = (name: string, claimName: string): Pod =>
  pod(name, { spec: { volumes: [{ name: "data", persistentVolumeClaim: { claimName } }] } });
const pinned: PersistentVolume = {
  metadata: { name: "pv-n2" },
  spec: {
    capacity: { storage: "1Gi" },
    hostPath: { path: "/x" },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n2"] }] },
        ],
      },
    },
  },
};
const writes = (client: FakeClient) =>
  client.writes.map((w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""} ${w.name}`);
const conditionOf = (client: FakeClient, name: string) =>
  client.all<Pod>(R.pods).find((p) => p.metadata.name === name)?.status?.conditions?.[0]?.message;

describe("scheduler volume binding", () => {
  it("gives an unbound WaitForFirstConsumer claim the chosen node before binding the pod", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1")] },
      { ref: R.storageclasses, objects: [wffc] },
      { ref: R.persistentvolumeclaims, objects: [claim("data")] },
      { ref: R.pods, objects: [withClaim("app", "data")] },
    ]);
    await schedulePending(testDeps(client));
    expect(writes(client)).toEqual(["patch persistentvolumeclaims data", "create pods/binding app"]);
    expect(client.writes[0].body).toEqual({
      metadata: { annotations: { "volume.kubernetes.io/selected-node": "n1" } },
    });
  });

  it("sends a pod whose claim is bound to a pinned volume only to that volume's node", async () => {
    const nodes = ["n1", "n2", "n3"].map((n) => node(n, { labels: { "kubernetes.io/hostname": n } }));
    const client = new FakeClient([
      { ref: R.nodes, objects: nodes },
      { ref: R.persistentvolumes, objects: [pinned] },
      { ref: R.persistentvolumeclaims, objects: [claim("data", "pv-n2")] },
      { ref: R.pods, objects: [withClaim("app", "data")] },
    ]);
    await schedulePending(testDeps(client));
    expect(writes(client)).toEqual(["create pods/binding app"]);
    expect(client.all<Pod>(R.pods)[0].spec.nodeName).toBe("n2");
  });

  it("says why in kube's words: missing claim, unbound immediate claim, volume node affinity conflict", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1", { labels: { "kubernetes.io/hostname": "n1" } })] },
      { ref: R.persistentvolumes, objects: [pinned] },
      {
        ref: R.persistentvolumeclaims,
        objects: [claim("pinned", "pv-n2"), claim("immediate", undefined, "fast")],
      },
      {
        ref: R.pods,
        objects: [withClaim("a", "missing"), withClaim("b", "immediate"), withClaim("c", "pinned")],
      },
    ]);
    await schedulePending(testDeps(client));
    expect(client.writesOf("pods").map((w) => w.subresource)).toEqual(["status", "status", "status"]);
    expect(conditionOf(client, "a")).toBe(
      '0/1 nodes are available: persistentvolumeclaim "missing" not found.',
    );
    expect(conditionOf(client, "b")).toBe(
      "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
    );
    expect(conditionOf(client, "c")).toBe(
      "0/1 nodes are available: 1 node(s) had volume node affinity conflict.",
    );
  });
});
