/**
 * The customresourcecleanup controller against the real API server (the
 * real resource table, CRDs and custom resources over a MemoryStore): a
 * deleted CRD stays Terminating until its objects are gone, then goes.
 */
import { describe, expect, it } from "vitest";
import { createCustomResourceCache, customResourceTable } from "../../apiserver/crd/cache.ts";
import { RESOURCES } from "../../apiserver/kinds/index.ts";
import { TEST_TOKEN, testServer } from "../../apiserver/testing/fixture.ts";
import { createKubeClient, type ResourceRef } from "../../client/kube.ts";
import type { ApiError } from "../../client/status.ts";
import { Expectations } from "../../reconcile/expectations.ts";
import { Snapshot } from "../../reconcile/snapshot.ts";
import { type Deps, defaultConfig } from "../../reconcile/types.ts";
import { CRDS, crdCleanupController } from "./index.ts";

const WIDGETS: ResourceRef = { group: "example.com", version: "v1", resource: "widgets", namespaced: true };

const crd = {
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", kind: "Widget" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

function setup() {
  const cache = createCustomResourceCache();
  const server = testServer({
    resources: RESOURCES,
    customResources: (store, builtins) => customResourceTable(cache, store, builtins),
  });
  const client = createKubeClient({
    baseUrl: "http://test",
    token: TEST_TOKEN,
    fetch: async (url, init) => server.app.fetch(new Request(url, init)),
  });
  const now = new Date("2026-01-01T00:00:00Z");
  /** Fresh deps per pass, as the manager gives them. */
  const deps = (): Deps => ({
    client,
    cache: new Snapshot(client),
    now: () => now,
    recorder: { event: async () => {} },
    config: defaultConfig,
    expectations: new Expectations(() => now.getTime()),
  });
  return { client, deps };
}

async function pass(deps: Deps) {
  for (const key of await crdCleanupController.keys(deps)) await crdCleanupController.reconcile(key, deps);
}

describe("customresourcecleanup controller", () => {
  it("deletes a deleted CRD's objects in every namespace, then removes its finalizer so the CRD goes", async () => {
    const { client, deps } = setup();
    await client.create(CRDS, undefined, crd);
    await client.create(WIDGETS, "default", { metadata: { name: "w1" }, spec: { a: 1 } });
    await client.create(WIDGETS, "kube-system", { metadata: { name: "w2" } });
    await client.delete(CRDS, undefined, "widgets.example.com");

    // Held by the finalizer, Terminating, and taking no new objects.
    const held = await client.get(CRDS, undefined, "widgets.example.com");
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    const refused = await client
      .create(WIDGETS, "default", { metadata: { name: "late" } })
      .catch((e: unknown) => e);
    expect((refused as ApiError).code).toBe(405);

    await pass(deps());
    expect((await client.list(WIDGETS)).items).toEqual([]);
    const terminating = await client.get(CRDS, undefined, "widgets.example.com");
    expect(
      (terminating.status as { conditions: { type: string }[] }).conditions.map((c) => c.type),
    ).toContain("Terminating");
    await pass(deps());
    const gone = await client.get(CRDS, undefined, "widgets.example.com").catch((e: unknown) => e);
    expect((gone as ApiError).code).toBe(404);
    // Gone everywhere: the resource is no longer served.
    const unserved = await client.list(WIDGETS).catch((e: unknown) => e);
    expect((unserved as ApiError).code).toBe(404);
    await pass(deps());
  });

  it("leaves CRDs that are not being deleted alone", async () => {
    const { client, deps } = setup();
    await client.create(CRDS, undefined, crd);
    await client.create(WIDGETS, "default", { metadata: { name: "w1" } });
    await pass(deps());
    expect((await client.list(WIDGETS)).items).toHaveLength(1);
  });
});
