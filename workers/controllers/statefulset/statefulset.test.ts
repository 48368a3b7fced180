import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import type { Pod } from "../k8s.ts";
import { converge, fakeKubelet } from "../testing/converge.ts";
import { testDeps } from "../testing/deps.ts";
import { FakeClient } from "../testing/fake-client.ts";
import { reconcileStatefulSet, type StatefulSet, statefulSetController } from "./index.ts";

function sts(replicas: number, policy?: "Parallel"): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "default", uid: "sts-uid", generation: 1 },
    spec: {
      replicas,
      serviceName: "db",
      podManagementPolicy: policy,
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
});
