import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { pod } from "../../reconcile/testing/fixtures.ts";
import { reconcileNamespace } from "./index.ts";

describe("namespace controller", () => {
  it("empties a terminating namespace, then finalizes it", async () => {
    const p = pod("web");
    p.metadata.namespace = "team";
    const client = new FakeClient([
      {
        ref: R.namespaces,
        objects: [
          {
            metadata: { name: "team", deletionTimestamp: "2026-01-01T00:00:00Z" },
            spec: { finalizers: ["kubernetes"] },
          },
        ],
      },
      { ref: R.pods, objects: [p] },
      {
        ref: R.configmaps,
        objects: [
          { metadata: { name: "cfg", namespace: "team" } },
          { metadata: { name: "other", namespace: "default" } },
        ],
      },
    ]);
    // The fake has no discovery, so the well-known namespaced resources are used.
    const first = await reconcileNamespace("team", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.name}`)).toEqual([
      "delete pods web",
      "delete configmaps cfg",
    ]);
    expect(first?.requeueAfterMs).toBeGreaterThan(0);
    await reconcileNamespace("team", testDeps(client));
    expect(client.writes.slice(2).map((w) => `${w.verb} ${w.resource}/${w.subresource} ${w.name}`)).toEqual([
      "update namespaces/finalize team",
      "delete namespaces/undefined team",
    ]);
  });

  it("ignores active namespaces", async () => {
    const client = new FakeClient([{ ref: R.namespaces, objects: [{ metadata: { name: "team" } }] }]);
    await reconcileNamespace("team", testDeps(client));
    expect(client.writes).toEqual([]);
  });
});
