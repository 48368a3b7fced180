import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { findCondition, isReady, type Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { type ReplicaSet, replicaSetController } from "../replicaset/index.ts";
import { converge } from "../testing/converge.ts";
import { type Deployment, deploymentController, reconcileDeployment } from "./index.ts";

function deployment(spec: Partial<Deployment["spec"]> = {}, image = "nginx:1"): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "dep-uid", generation: 1 },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image }] } },
      ...spec,
    },
  };
}

const controllers = [deploymentController, replicaSetController];

function setImage(client: FakeClient, image: string, extra: Partial<Deployment["spec"]> = {}) {
  const d = client.all<Deployment>(R.deployments)[0];
  d.spec = {
    ...d.spec,
    ...extra,
    template: { ...d.spec.template, spec: { containers: [{ name: "c", image }] } },
  };
  d.metadata.generation = (d.metadata.generation ?? 1) + 1;
  client.put(R.deployments, d);
}

const dep = (client: FakeClient) => client.all<Deployment>(R.deployments)[0];
const replicaSets = (client: FakeClient) => client.all<ReplicaSet>(R.replicasets);

describe("deployment controller", () => {
  it("creates the first ReplicaSet at full size, then records its revision and status", async () => {
    const client = new FakeClient([{ ref: R.deployments, objects: [deployment()] }]);
    await reconcileDeployment("default/web", testDeps(client));
    expect(
      client.writes.map((w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""}`),
    ).toEqual(["create replicasets", "patch deployments", "update deployments/status"]);
    const [rs] = replicaSets(client);
    const hash = rs.metadata.labels?.["pod-template-hash"];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.replicas).toBe(4);
    expect(rs.spec.selector.matchLabels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    expect(rs.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "Deployment",
      uid: "dep-uid",
      controller: true,
    });
    expect(client.writes[1].body).toEqual({
      metadata: { annotations: { "deployment.kubernetes.io/revision": "1" } },
    });
    expect(client.events.map((e) => e.message)).toEqual([`Scaled up replica set web-${hash} from 0 to 4`]);
    const status = dep(client).status;
    expect(findCondition(status?.conditions, "Progressing")?.reason).toBe("NewReplicaSetCreated");
    // Safe to run twice: nothing left to do until the ReplicaSet reports pods.
    const before = client.writes.length;
    await reconcileDeployment("default/web", testDeps(client));
    expect(client.writes.length).toBe(before);
  });

  it("converges to a complete rollout with the status kubectl rollout status needs", async () => {
    const client = new FakeClient([{ ref: R.deployments, objects: [deployment()] }]);
    await converge(client, controllers);
    const status = dep(client).status;
    expect(status).toMatchObject({
      observedGeneration: 1,
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      unavailableReplicas: 0,
    });
    expect(findCondition(status?.conditions, "Available")).toMatchObject({
      status: "True",
      reason: "MinimumReplicasAvailable",
    });
    expect(findCondition(status?.conditions, "Progressing")).toMatchObject({
      status: "True",
      reason: "NewReplicaSetAvailable",
    });
    expect(client.all<Pod>(R.pods).filter(isReady)).toHaveLength(4);
  });

  it("rolls an image change within maxSurge/maxUnavailable, then rolls back to the old ReplicaSet", async () => {
    const spec = {
      strategy: { type: "RollingUpdate" as const, rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
    };
    const client = new FakeClient([{ ref: R.deployments, objects: [deployment(spec)] }]);
    await converge(client, controllers);
    const [first] = replicaSets(client);
    setImage(client, "nginx:2");
    let maxPods = 0;
    let minReady = 4;
    await converge(client, controllers, {
      observe: () => {
        const pods = client.all<Pod>(R.pods);
        maxPods = Math.max(maxPods, pods.length);
        minReady = Math.min(minReady, pods.filter(isReady).length);
      },
    });
    expect(maxPods).toBeLessThanOrEqual(5);
    expect(minReady).toBeGreaterThanOrEqual(3);
    const rsets = replicaSets(client);
    expect(rsets).toHaveLength(2);
    const second = rsets.find((rs) => rs.metadata.name !== first.metadata.name)!;
    expect(second.spec.replicas).toBe(4);
    expect(second.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(rsets.find((rs) => rs.metadata.name === first.metadata.name)?.spec.replicas).toBe(0);
    expect(dep(client).metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(client.events.filter((e) => e.reason === "ScalingReplicaSet").length).toBeGreaterThan(2);

    // kubectl rollout undo: the template goes back to the first ReplicaSet's, sent as Go encodes it (with
    // `metadata.creationTimestamp: null`, which the wire type does not allow); it becomes revision 3.
    const d = dep(client);
    const metadata = { labels: { app: "web" }, creationTimestamp: null as unknown as string };
    d.spec = { ...d.spec, template: { metadata, spec: { containers: [{ name: "c", image: "nginx:1" }] } } };
    d.metadata.generation = (d.metadata.generation ?? 1) + 1;
    client.put(R.deployments, d);
    await converge(client, controllers);
    const back = replicaSets(client).find((rs) => rs.metadata.name === first.metadata.name)!;
    expect(back.spec.replicas).toBe(4);
    expect(back.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
    expect(replicaSets(client)).toHaveLength(2);
    expect(dep(client).status).toMatchObject({ updatedReplicas: 4, availableReplicas: 4 });
  });

  it("keeps only revisionHistoryLimit old ReplicaSets", async () => {
    const client = new FakeClient([
      { ref: R.deployments, objects: [deployment({ revisionHistoryLimit: 1 })] },
    ]);
    await converge(client, controllers);
    setImage(client, "nginx:2");
    await converge(client, controllers);
    setImage(client, "nginx:3");
    await converge(client, controllers);
    const images = replicaSets(client)
      .map((rs) => rs.spec.template.spec.containers[0].image)
      .sort();
    expect(images).toEqual(["nginx:2", "nginx:3"]);
  });

  it("Recreate scales the old ReplicaSet to zero before starting the new one", async () => {
    const client = new FakeClient([
      { ref: R.deployments, objects: [deployment({ strategy: { type: "Recreate" } })] },
    ]);
    await converge(client, controllers);
    setImage(client, "nginx:2");
    let mixed = false;
    await converge(client, controllers, {
      observe: () => {
        const images = new Set(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image));
        if (images.size > 1) mixed = true;
      },
    });
    expect(mixed).toBe(false);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual(Array(4).fill("nginx:2"));
  });

  it("while paused, scales but does not roll out; resuming rolls out", async () => {
    const client = new FakeClient([{ ref: R.deployments, objects: [deployment()] }]);
    await converge(client, controllers);
    setImage(client, "nginx:2", { paused: true, replicas: 6 });
    await converge(client, controllers);
    expect(replicaSets(client)).toHaveLength(1);
    expect(client.all<Pod>(R.pods)).toHaveLength(6);
    expect(findCondition(dep(client).status?.conditions, "Progressing")).toMatchObject({
      status: "Unknown",
      reason: "DeploymentPaused",
    });
    setImage(client, "nginx:2", { paused: false });
    await converge(client, controllers);
    expect(client.all<Pod>(R.pods).map((p) => p.spec.containers[0].image)).toEqual(Array(6).fill("nginx:2"));
    expect(findCondition(dep(client).status?.conditions, "Progressing")?.reason).toBe(
      "NewReplicaSetAvailable",
    );
  });

  it("reports ProgressDeadlineExceeded when pods never become available", async () => {
    const client = new FakeClient([
      { ref: R.deployments, objects: [deployment({ progressDeadlineSeconds: 30 })] },
    ]);
    await converge(client, controllers, { kubelet: false });
    const later = new Date("2026-01-01T00:01:00Z");
    await reconcileDeployment("default/web", testDeps(client, later));
    expect(findCondition(dep(client).status?.conditions, "Progressing")).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
    });
  });
});
