import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import type { PodDisruptionBudget } from "../../client/types.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { pod } from "../../reconcile/testing/fixtures.ts";
import { reconcileDisruption } from "./index.ts";

const NOW = new Date("2026-01-01T00:10:00Z");

function budget(spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web", namespace: "default", generation: 2 },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
    status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  };
}

const RS_OWNER = {
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  name: "web-1",
  uid: "rs-uid",
  controller: true,
};

/** A pod of ReplicaSet web-1, Ready unless told otherwise. */
function member(name: string, opts: { ready?: boolean; deleting?: boolean; owner?: boolean } = {}): Pod {
  const p = pod(name, { labels: { app: "web" } });
  if (opts.owner !== false) p.metadata.ownerReferences = [RS_OWNER];
  p.status = {
    phase: "Running",
    conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
  };
  if (opts.deleting) p.metadata.deletionTimestamp = "2026-01-01T00:09:00Z";
  return p;
}

const owners = [
  {
    ref: R.deployments,
    objects: [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default", uid: "dep-uid" },
        spec: { replicas: 4 },
      },
    ],
  },
  {
    ref: R.replicasets,
    objects: [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: "web-1",
          namespace: "default",
          uid: "rs-uid",
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "dep-uid", controller: true },
          ],
        },
        spec: { replicas: 3 },
      },
    ],
  },
];

const statusOf = (client: FakeClient) =>
  (client.all<KubeObject & PodDisruptionBudget>(R.poddisruptionbudgets)[0].status ?? {}) as NonNullable<
    PodDisruptionBudget["status"]
  >;

describe("disruption controller", () => {
  it("counts healthy pods against an integer minAvailable, sets the condition, then writes nothing more", async () => {
    const client = new FakeClient([
      { ref: R.poddisruptionbudgets, objects: [budget({ minAvailable: 2 })] },
      { ref: R.pods, objects: [member("a"), member("b"), member("c"), member("d", { ready: false })] },
      ...owners,
    ]);
    await reconcileDisruption("default/web", testDeps(client, NOW));
    expect(client.writes.map((w) => `${w.verb} ${w.resource}/${w.subresource}`)).toEqual([
      "update poddisruptionbudgets/status",
    ]);
    expect(statusOf(client)).toEqual({
      disruptionsAllowed: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 4,
      observedGeneration: 2,
      conditions: [
        {
          type: "DisruptionAllowed",
          status: "True",
          reason: "SufficientPods",
          message: "",
          observedGeneration: 2,
          lastTransitionTime: "2026-01-01T00:10:00Z",
        },
      ],
    });
    await reconcileDisruption("default/web", testDeps(client, NOW));
    expect(client.writes).toHaveLength(1);
  });

  it("scales a percentage by the Deployment that owns the pods' ReplicaSet (getExpectedScale)", async () => {
    const client = new FakeClient([
      { ref: R.poddisruptionbudgets, objects: [budget({ maxUnavailable: "50%" })] },
      { ref: R.pods, objects: [member("a"), member("b"), member("c")] },
      ...owners,
    ]);
    await reconcileDisruption("default/web", testDeps(client, NOW));
    // Deployment scale 4 (not the ReplicaSet's 3, not the 3 pods): 4 - ceil(50% of 4) = 2 must stay healthy.
    expect(statusOf(client)).toMatchObject({
      expectedPods: 4,
      desiredHealthy: 2,
      currentHealthy: 3,
      disruptionsAllowed: 1,
    });
  });

  it("does not count deleting or recently evicted pods, and forgets evictions after the deletion timeout", async () => {
    const pdb = budget({ minAvailable: 1 });
    pdb.status = {
      ...(pdb.status as object),
      disruptedPods: { a: "2026-01-01T00:09:30Z", b: "2026-01-01T00:01:00Z", gone: "2026-01-01T00:09:30Z" },
    };
    const client = new FakeClient([
      { ref: R.poddisruptionbudgets, objects: [pdb] },
      { ref: R.pods, objects: [member("a"), member("b"), member("c", { deleting: true })] },
      ...owners,
    ]);
    const result = await reconcileDisruption("default/web", testDeps(client, NOW));
    // a: evicted 30 s ago, pending; b: evicted 9 min ago and still there, counts again; c: deleting.
    expect(statusOf(client)).toMatchObject({
      disruptedPods: { a: "2026-01-01T00:09:30Z" },
      currentHealthy: 1,
      desiredHealthy: 1,
      expectedPods: 3,
      disruptionsAllowed: 0,
    });
    expect(statusOf(client).conditions).toMatchObject([{ status: "False", reason: "InsufficientPods" }]);
    // Look again when a's eviction times out (00:09:30 + 2 min).
    expect(result).toEqual({ requeueAfterMs: 90_000 });
  });

  it("fails safe when a percentage budget selects a pod whose owner cannot be found", async () => {
    const orphanOwner = member("x");
    orphanOwner.metadata.ownerReferences = [{ ...RS_OWNER, name: "gone", uid: "gone-uid" }];
    const client = new FakeClient([
      { ref: R.poddisruptionbudgets, objects: [budget({ minAvailable: "50%" })] },
      { ref: R.pods, objects: [member("a"), orphanOwner] },
      ...owners,
    ]);
    await reconcileDisruption("default/web", testDeps(client, NOW));
    expect(statusOf(client)).toMatchObject({
      disruptionsAllowed: 0,
      conditions: [
        {
          type: "DisruptionAllowed",
          status: "False",
          reason: "SyncFailed",
          message: 'found no controllers for pod "x"',
        },
      ],
    });
    expect(client.events.map((e) => e.reason)).toEqual(["CalculateExpectedPodCountFailed"]);
  });

  it("reads a custom owner's scale through its scale subresource, found by discovery (getScaleController)", async () => {
    const WIDGETS = { group: "example.com", version: "v1", resource: "widgets", namespaced: true };
    /** The fake client plus what a served CRD with a scale subresource answers. */
    class WithWidgets extends FakeClient {
      override async request(...args: unknown[]): Promise<Response> {
        const path = String(args[0]);
        if (path !== "/apis/example.com/v1") return new Response("{}", { status: 404 });
        return Response.json({
          resources: [
            { name: "widgets", kind: "Widget", namespaced: true },
            { name: "widgets/scale", kind: "Scale", namespaced: true },
          ],
        });
      }
      override async get<T extends KubeObject>(
        ref: typeof WIDGETS,
        namespace: string | undefined,
        name: string,
        sub?: string,
      ): Promise<T> {
        if (ref.resource !== "widgets") return super.get<T>(ref, namespace, name);
        expect([namespace, name, sub]).toEqual(["default", "w", "scale"]);
        return {
          kind: "Scale",
          metadata: { name: "w", namespace: "default", uid: "widget-uid" },
          spec: { replicas: 6 },
        } as unknown as T;
      }
    }
    const owned = (name: string) => {
      const p = member(name);
      p.metadata.ownerReferences = [
        { apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "widget-uid", controller: true },
      ];
      return p;
    };
    const client = new WithWidgets([
      { ref: R.poddisruptionbudgets, objects: [budget({ minAvailable: "50%" })] },
      { ref: R.pods, objects: [owned("a"), owned("b"), owned("c"), owned("d")] },
    ]);
    await reconcileDisruption("default/web", testDeps(client, NOW));
    expect(statusOf(client)).toMatchObject({
      expectedPods: 6,
      desiredHealthy: 3,
      currentHealthy: 4,
      disruptionsAllowed: 1,
    });
  });

  it("allows nothing while the budget selects no pods", async () => {
    const client = new FakeClient([
      { ref: R.poddisruptionbudgets, objects: [budget({ maxUnavailable: 1 })] },
    ]);
    await reconcileDisruption("default/web", testDeps(client, NOW));
    expect(statusOf(client)).toMatchObject({ expectedPods: 0, disruptionsAllowed: 0 });
    expect(client.events.map((e) => e.reason)).toEqual(["NoPods"]);
  });
});
