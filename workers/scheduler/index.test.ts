import { describe, expect, it } from "vitest";
import type { KubeObject } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import type { Pod } from "../reconcile/k8s.ts";
import { Snapshot } from "../reconcile/snapshot.ts";
import { testDeps } from "../reconcile/testing/deps.ts";
import { FakeClient } from "../reconcile/testing/fake-client.ts";
import { node, pod } from "../reconcile/testing/fixtures.ts";
import { RETRY_UNSCHEDULABLE_MS, schedulePending } from "./index.ts";

describe("scheduler controller", () => {
  it("binds through pods/binding with a Scheduled event, and marks what fits nowhere Unschedulable once", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1", { cpu: "1" })] },
      {
        ref: R.pods,
        objects: [pod("small", { cpu: "500m" }), pod("huge", { cpu: "8", created: "2026-01-01T00:00:01Z" })],
      },
    ]);
    await schedulePending(testDeps(client));
    expect(
      client.writes.map(
        (w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""} ${w.name}`,
      ),
    ).toEqual(["create pods/binding small", "update pods/status huge"]);
    expect(client.writes[0].body).toEqual({
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "small", namespace: "default", uid: "pod-small" },
      target: { apiVersion: "v1", kind: "Node", name: "n1" },
    });
    const huge = client.all<Pod>(R.pods).find((p) => p.metadata.name === "huge");
    expect(huge?.status?.conditions).toEqual([
      {
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message: "0/1 nodes are available: 1 Insufficient cpu.",
        lastProbeTime: null,
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
    expect(client.events).toEqual([
      {
        reason: "Scheduled",
        type: "Normal",
        message: "Successfully assigned default/small to n1",
        object: "default/small",
      },
      {
        reason: "FailedScheduling",
        type: "Warning",
        message: "0/1 nodes are available: 1 Insufficient cpu.",
        object: "default/huge",
      },
    ]);
    // Safe to run twice: nothing is pending that can move, and the condition is already there.
    await schedulePending(testDeps(client));
    expect(client.writes).toHaveLength(2);
  });

  it("retries an unschedulable pod when a node appears", async () => {
    const client = new FakeClient([{ ref: R.pods, objects: [pod("p", { cpu: "2" })] }]);
    await schedulePending(testDeps(client));
    expect(client.events.map((e) => e.message)).toEqual([
      "0/0 nodes are available: no nodes available to schedule pods.",
    ]);
    client.put(R.nodes, node("big", { cpu: "4" }));
    await schedulePending(testDeps(client));
    expect(client.all<Pod>(R.pods)[0].spec.nodeName).toBe("big");
  });

  it("keeps pods that fit nowhere aside until the cluster changes or the retry period ends", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1", { cpu: "1" })] },
      { ref: R.pods, objects: [pod("huge", { cpu: "8" })] },
    ]);
    // One long-lived cache across passes, as the manager's informers are: unchanged lists keep their identity.
    const cache = new Snapshot(client);
    const t0 = new Date("2026-01-01T00:00:00Z");
    const pass = (at: Date) => schedulePending({ ...testDeps(client, at), cache });
    expect(await pass(t0)).toBeUndefined();
    expect(client.events.map((e) => e.reason)).toEqual(["FailedScheduling"]);

    // A new pod is tried at once; the unschedulable one is not (nothing that could make it fit changed).
    client.put(R.pods, pod("small", { cpu: "500m" }));
    cache.invalidate("/pods");
    expect(await pass(t0)).toEqual({ requeueAfterMs: RETRY_UNSCHEDULABLE_MS });
    expect(client.all<Pod>(R.pods).find((p) => p.metadata.name === "small")?.spec.nodeName).toBe("n1");

    // After the retry period it is tried again (and still fits nowhere).
    expect(await pass(new Date(t0.getTime() + RETRY_UNSCHEDULABLE_MS))).toBeUndefined();

    // A node change retries it at once.
    client.put(R.nodes, node("big", { cpu: "16" }));
    cache.invalidate("/nodes");
    await pass(new Date(t0.getTime() + RETRY_UNSCHEDULABLE_MS + 1000));
    expect(client.all<Pod>(R.pods).find((p) => p.metadata.name === "huge")?.spec.nodeName).toBe("big");
  });

  it("takes pods created while a pass binds into that pass, counting what it already placed", async () => {
    // A client on which a new pod shows up (in the cache too, as an informer would show it) while the
    // first binding is written.
    let cache: Snapshot | undefined;
    class CreatingMeanwhile extends FakeClient {
      override async create<T extends KubeObject>(...args: Parameters<FakeClient["create"]>): Promise<T> {
        const answer = await super.create<T>(...args);
        if (args[3]?.subresource === "binding" && args[3].name === "first") {
          this.put(R.pods, pod("second", { cpu: "600m" }));
          cache?.invalidate("/pods");
        }
        return answer;
      }
    }
    const client = new CreatingMeanwhile([
      { ref: R.nodes, objects: [node("n1", { cpu: "1" }), node("n2", { cpu: "1" })] },
      { ref: R.pods, objects: [pod("first", { cpu: "600m" })] },
    ]);
    cache = new Snapshot(client);
    await schedulePending({ ...testDeps(client), cache });
    const placed = client.all<Pod>(R.pods).map((p) => p.spec.nodeName);
    // One pass bound both, and the second went to the other node: the first was counted where it went.
    expect(placed.sort()).toEqual(["n1", "n2"]);
    expect(client.writes.map((w) => `${w.verb} ${w.subresource} ${w.name}`)).toEqual([
      "create binding first",
      "create binding second",
    ]);
  });
});
