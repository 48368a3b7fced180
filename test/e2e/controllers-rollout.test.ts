/**
 * `kubectl rollout history/undo/status` for DaemonSets and StatefulSets, with
 * real kubectl against the local control plane and two simulated nodes: both
 * read the ControllerRevisions the controllers keep (one per template), and
 * undo applies the old revision's data as a strategic merge patch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import type { ControllerRevision } from "../../workers/controllers/history.ts";
import type { Pod } from "../../workers/reconcile/k8s.ts";
import { type Cluster, startCluster, waitFor } from "./controllers-harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  await cluster?.stop();
});

const podsOf = async (app: string) =>
  (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: `app=${app}` })).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );

const revisionsOf = async (app: string) =>
  (
    await cluster.client.list<ControllerRevision>(R.controllerrevisions, "default", {
      labelSelector: `app=${app}`,
    })
  ).items.sort((a, b) => a.revision - b.revision);

/** A workload manifest (DaemonSet or StatefulSet) with one container `c` running `image`. */
function manifest(kind: "DaemonSet" | "StatefulSet", name: string, image: string): string {
  const extra = kind === "StatefulSet" ? { replicas: 2, serviceName: name } : {};
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: "default" },
    spec: {
      ...extra,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image }] } },
    },
  });
}

/** Create, change the image, check history, undo: what both kinds share. Returns revision 1's name. */
async function rollOutAndBack(kind: "DaemonSet" | "StatefulSet", resource: string, name: string) {
  await cluster.kubectl(["apply", "-f", "-"], { input: manifest(kind, name, "busybox:1") });
  await cluster.kubectl(["rollout", "status", `${resource}/${name}`, "--timeout=30s"]);
  await cluster.kubectl(["set", "image", `${resource}/${name}`, "c=busybox:2"]);
  await cluster.kubectl(["rollout", "status", `${resource}/${name}`, "--timeout=30s"]);
  await waitFor("every pod on busybox:2", async () => {
    const pods = await podsOf(name);
    return pods.length === 2 && pods.every((p) => p.spec.containers[0].image === "busybox:2")
      ? true
      : undefined;
  });

  const history = await cluster.kubectl(["rollout", "history", `${resource}/${name}`]);
  expect(history).toMatch(/^1\s+<none>$/m);
  expect(history).toMatch(/^2\s+<none>$/m);
  const [first, second] = await revisionsOf(name);
  expect([first.revision, second.revision]).toEqual([1, 2]);

  await cluster.kubectl(["rollout", "undo", `${resource}/${name}`]);
  const live = JSON.parse(await cluster.kubectl(["get", resource, name, "-o", "json"]));
  expect(live.spec.template.spec.containers[0].image).toBe("busybox:1");
  await cluster.kubectl(["rollout", "status", `${resource}/${name}`, "--timeout=30s"]);
  // The first revision became the newest (renumbered, not copied).
  const after = await waitFor("revision 1 renumbered to 3", async () => {
    const revs = await revisionsOf(name);
    return revs.length === 2 && revs[1].revision === 3 ? revs : undefined;
  });
  expect(after.map((r) => [r.metadata.name, r.revision])).toEqual([
    [second.metadata.name, 2],
    [first.metadata.name, 3],
  ]);
  return first;
}

describe("rollout history and undo with kubectl", () => {
  it("DaemonSet: history lists both templates; undo brings back the first image and hash", {
    timeout: 60_000,
  }, async () => {
    const first = await rollOutAndBack("DaemonSet", "daemonset", "agent");
    const hash = first.metadata.labels?.["controller-revision-hash"];
    const pods = await waitFor("both daemon pods back on the first revision", async () => {
      const items = await podsOf("agent");
      return items.length === 2 &&
        items.every(
          (p) =>
            p.spec.containers[0].image === "busybox:1" &&
            p.metadata.labels?.["controller-revision-hash"] === hash,
        )
        ? items
        : undefined;
    });
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(2);
  });

  it("StatefulSet: history lists both templates; undo brings back the first image", {
    timeout: 60_000,
  }, async () => {
    const first = await rollOutAndBack("StatefulSet", "statefulset", "db");
    const sts = JSON.parse(await cluster.kubectl(["get", "statefulset", "db", "-o", "json"]));
    expect(sts.status).toMatchObject({
      updateRevision: first.metadata.name,
      currentRevision: first.metadata.name,
    });
    const pods = await podsOf("db");
    expect(pods.map((p) => p.metadata.labels?.["controller-revision-hash"])).toEqual([
      first.metadata.name,
      first.metadata.name,
    ]);
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual(["busybox:1", "busybox:1"]);
  });
});
