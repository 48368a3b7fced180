import { describe, expect, it } from "vitest";
import { R } from "../client/resources.ts";
import { EXPECTATIONS_TIMEOUT_MS, Expectations } from "../reconcile/expectations.ts";
import type { Pod } from "../reconcile/k8s.ts";
import { testDeps } from "../reconcile/testing/deps.ts";
import { FakeClient } from "../reconcile/testing/fake-client.ts";
import { node } from "../reconcile/testing/fixtures.ts";
import { LaggingCache } from "../reconcile/testing/lagging-cache.ts";
import type { Deps } from "../reconcile/types.ts";
import { type DaemonSet, reconcileDaemonSet } from "./daemonset/index.ts";
import { type Job, reconcileJob } from "./job/index.ts";
import { type ReplicaSet, reconcileReplicaSet } from "./replicaset/index.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const template = {
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "c", image: "nginx" }] },
};
const rs: ReplicaSet = {
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: { name: "web", namespace: "default", uid: "rs-uid", generation: 1 },
  spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
};
const job: Job = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "pi", namespace: "default", uid: "job-uid", generation: 1 },
  spec: { parallelism: 2, completions: 4, template: { spec: { ...template.spec, restartPolicy: "Never" } } },
};

/** Deps whose cache lags every write, sharing one expectations store across reconciles, at a settable time. */
function lagging(client: FakeClient) {
  let now = T0;
  const expectations = new Expectations(() => now);
  const cache = new LaggingCache(client, expectations);
  const deps: Deps = { ...testDeps(client), cache, expectations, now: () => new Date(now) };
  return { deps, cache, expectations, at: (ms: number) => (now = T0 + ms) };
}

const podCreates = (client: FakeClient) =>
  client.writes.filter((w) => w.verb === "create" && w.resource === "pods").length;

describe("expectations against a lagging cache", () => {
  it("a ReplicaSet does not create its pods twice while the cache has not shown them", async () => {
    const client = new FakeClient([{ ref: R.replicasets, objects: [rs] }]);
    const { deps, cache } = lagging(client);
    await reconcileReplicaSet("default/web", deps);
    expect(podCreates(client)).toBe(3);
    // The cache still shows no pods: without expectations this would create three more.
    await reconcileReplicaSet("default/web", deps);
    await reconcileReplicaSet("default/web", deps);
    expect(podCreates(client)).toBe(3);
    // The watch delivers the three pods: expectations are met and the count is right, so nothing more.
    await cache.catchUp();
    await reconcileReplicaSet("default/web", deps);
    expect(podCreates(client)).toBe(3);
    expect(client.all<Pod>(R.pods)).toHaveLength(3);
  });

  it("a ReplicaSet acts again once the cache shows a pod went away", async () => {
    const client = new FakeClient([{ ref: R.replicasets, objects: [rs] }]);
    const { deps, cache } = lagging(client);
    await reconcileReplicaSet("default/web", deps);
    await cache.catchUp();
    const victim = client.all<Pod>(R.pods)[0];
    await client.delete(R.pods, "default", victim.metadata.name ?? "");
    await cache.catchUp();
    await reconcileReplicaSet("default/web", deps);
    expect(podCreates(client)).toBe(4);
  });

  it("a Job does not start more pods than its parallelism while the cache lags", async () => {
    const client = new FakeClient([{ ref: R.jobs, objects: [job] }]);
    const { deps, cache } = lagging(client);
    await reconcileJob("default/pi", deps);
    expect(podCreates(client)).toBe(2);
    await reconcileJob("default/pi", deps);
    expect(podCreates(client)).toBe(2);
    await cache.catchUp();
    await reconcileJob("default/pi", deps);
    expect(podCreates(client)).toBe(2);
    expect(client.all<Pod>(R.pods)).toHaveLength(2);
  });

  it("a DaemonSet does not create a second pod for a node while the cache lags", async () => {
    const ds: DaemonSet = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 1 },
      spec: { selector: { matchLabels: { app: "web" } }, template },
    };
    const client = new FakeClient([
      { ref: R.daemonsets, objects: [ds] },
      { ref: R.nodes, objects: [node("n1"), node("n2")] },
    ]);
    const { deps, cache } = lagging(client);
    await reconcileDaemonSet("default/agent", deps);
    expect(podCreates(client)).toBe(2);
    await reconcileDaemonSet("default/agent", deps);
    expect(podCreates(client)).toBe(2);
    await cache.catchUp();
    await reconcileDaemonSet("default/agent", deps);
    expect(podCreates(client)).toBe(2);
  });

  it("expectations that were never met expire after five minutes (kube's ExpectationsTimeout)", async () => {
    const client = new FakeClient([{ ref: R.replicasets, objects: [rs] }]);
    const { deps, at } = lagging(client);
    await reconcileReplicaSet("default/web", deps);
    at(EXPECTATIONS_TIMEOUT_MS);
    await reconcileReplicaSet("default/web", deps);
    expect(podCreates(client)).toBe(3);
    at(EXPECTATIONS_TIMEOUT_MS + 1);
    await reconcileReplicaSet("default/web", deps);
    expect(podCreates(client)).toBe(6);
  });

  it("a creation that failed lowers the expectation itself (it will never be seen)", async () => {
    const client = new FakeClient([{ ref: R.replicasets, objects: [rs] }]);
    const { deps, expectations } = lagging(client);
    const create = client.create.bind(client);
    let calls = 0;
    client.create = ((...args: Parameters<FakeClient["create"]>) =>
      ++calls === 2 ? Promise.reject(new Error("boom")) : create(...args)) as FakeClient["create"];
    await expect(reconcileReplicaSet("default/web", deps)).rejects.toThrow("boom");
    expect(expectations.satisfied("rs-uid")).toBe(false);
    for (const pod of client.all<Pod>(R.pods)) expectations.observe({ type: "ADDED", object: pod });
    expect(expectations.satisfied("rs-uid")).toBe(true);
  });
});
