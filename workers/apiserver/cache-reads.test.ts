/**
 * Lists and gets served from the watch cache through the API, as kube
 * 1.32's cacher serves them: resourceVersion=0 and NotOlderThan from the
 * cache (selectors, namespaces, tables, deletes, the freshness wait and its
 * 504), consistent reads, continues, Exact and limited rv=N lists from the
 * store, and split resources always from the store. Which one answered is
 * told by the store's list and get calls, counted under the API.
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import type { Store } from "../../durable-objects/store/types.ts";
import { WatchCache } from "./registry/watch-cache.ts";
import { TEST_TOKEN, testServer } from "./testing/fixture.ts";

const CM = "/api/v1/namespaces/a/configmaps";
const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/** A MemoryStore counting the reads that reach it. */
function countingStore() {
  const counts = { list: 0, get: 0 };
  const store = new Proxy(new MemoryStore(), {
    get: (target, name) => {
      const value = Reflect.get(target, name);
      if (name === "list" || name === "get") counts[name]++;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: store as Store, counts };
}

type Server = ReturnType<typeof testServer>;
type Item = { metadata: { name: string; namespace: string; resourceVersion: string } };

const names = (body: Record<string, unknown>) =>
  (body.items as Item[]).map((i) => `${i.metadata.namespace}/${i.metadata.name}`);

/** Seeds configmaps in namespaces a and b and opens a watch of all configmaps, live once its first event arrived. */
async function seeded(server: Server) {
  for (const ns of ["a", "b"]) await server.call("POST", "/api/v1/namespaces", { metadata: { name: ns } });
  for (const [ns, name, tier] of [
    ["a", "one", "web"],
    ["a", "two", "db"],
    ["b", "three", "web"],
  ])
    await server.call("POST", `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name, labels: { tier } },
      data: { v: "1" },
    });
  const list = await server.call("GET", "/api/v1/configmaps");
  const rv = (list.body.metadata as { resourceVersion: string }).resourceVersion;
  const response = await server.app.request(
    `http://test/api/v1/configmaps?watch=true&resourceVersion=${rv}`,
    {
      headers: { Authorization: `Bearer ${TEST_TOKEN}` },
    },
  );
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  await server.call("POST", "/api/v1/namespaces/b/configmaps", { metadata: { name: "live" } });
  let seen = "";
  while (!seen.includes("\n")) seen += (await reader.read()).value ?? "";
  return { close: () => reader.cancel() };
}

describe("reads from the watch cache", () => {
  it("answers rv=0 lists from the cache, with selectors and namespaces as the store does; consistent lists from the store", async () => {
    const { store, counts } = countingStore();
    const server = testServer({ store, watchCache: new WatchCache() });
    const watch = await seeded(server);
    for (const query of ["", "labelSelector=tier%3Dweb", "fieldSelector=metadata.name%3Dtwo"]) {
      const consistent = await server.call("GET", `${CM}?${query}`);
      const before = counts.list;
      const cached = await server.call("GET", `${CM}?${query}&resourceVersion=0`);
      expect(cached.status).toBe(200);
      expect(cached.body.items).toEqual(consistent.body.items);
      // The first cached read loads the resource's state with one store list; the rest read none.
      expect(counts.list - before).toBe(query === "" ? 1 : 0);
    }
    const all = await server.call("GET", "/api/v1/configmaps?resourceVersion=0&labelSelector=tier%3Dweb");
    expect(names(all.body)).toEqual(["a/one", "b/three"]);
    const before = counts.list;
    await server.call("GET", CM);
    expect(counts.list).toBe(before + 1);
    await watch.close();
  });

  it("waits for a NotOlderThan version, shows deletes, and answers a version it cannot reach with 504", async () => {
    const { store, counts } = countingStore();
    const server = testServer({ store, watchCache: new WatchCache({ blockTimeoutMs: 50 }) });
    const watch = await seeded(server);
    await server.call("GET", `${CM}?resourceVersion=0`);
    const lists = counts.list;
    const patched = await server.call(
      "PATCH",
      `${CM}/one`,
      { data: { v: "2" } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    const rv = patched.body.metadata!.resourceVersion as string;
    const fresh = await server.call("GET", `${CM}?resourceVersion=${rv}&resourceVersionMatch=NotOlderThan`);
    expect((fresh.body.items as { data: { v: string } }[])[0].data.v).toBe("2");
    const deleted = await server.call("DELETE", `${CM}/two`);
    expect(deleted.status).toBe(200);
    const { current } = await store.revisions();
    const after = await server.call("GET", `${CM}?resourceVersion=${current}`);
    expect(names(after.body)).toEqual(["a/one"]);
    expect(
      Number((after.body.metadata as { resourceVersion: string }).resourceVersion),
    ).toBeGreaterThanOrEqual(current);
    expect(counts.list).toBe(lists);
    const tooLarge = await server.call("GET", `${CM}?resourceVersion=${current + 100}`);
    expect(tooLarge.status).toBe(504);
    expect(tooLarge.body).toMatchObject({
      kind: "Status",
      reason: "Timeout",
      details: { causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }] },
    });
    await watch.close();
  });

  it("answers rv=0 with a limit whole (kube 1.32); continues, Exact and limited rv=N from the store", async () => {
    const { store, counts } = countingStore();
    const server = testServer({ store, watchCache: new WatchCache() });
    const watch = await seeded(server);
    const whole = await server.call("GET", `/api/v1/configmaps?resourceVersion=0&limit=1`);
    expect(names(whole.body)).toEqual(["a/one", "a/two", "b/live", "b/three"]);
    expect(whole.body.metadata).not.toHaveProperty("continue");
    const rv = (whole.body.metadata as { resourceVersion: string }).resourceVersion;
    for (const query of [
      `limit=1&resourceVersion=${rv}`,
      `limit=1&resourceVersion=${rv}&resourceVersionMatch=NotOlderThan`,
      `resourceVersion=${rv}&resourceVersionMatch=Exact`,
    ]) {
      const before = counts.list;
      const page = await server.call("GET", `/api/v1/configmaps?${query}`);
      expect(page.status).toBe(200);
      expect(counts.list).toBeGreaterThan(before);
      const token = (page.body.metadata as { continue?: string }).continue;
      if (query.startsWith("limit")) {
        expect(token).toBeTruthy();
        const next = counts.list;
        // A continue reads the store even with rv=0 (kube allows "0" beside a continue, and ignores it).
        const more = await server.call(
          "GET",
          `/api/v1/configmaps?limit=10&continue=${token}&resourceVersion=0`,
        );
        expect(names(more.body)).toEqual(["a/two", "b/live", "b/three"]);
        expect(counts.list).toBeGreaterThan(next);
      }
    }
    await watch.close();
  });

  it("answers gets with a resourceVersion and tables from the cache", async () => {
    const { store, counts } = countingStore();
    const server = testServer({ store, watchCache: new WatchCache() });
    const watch = await seeded(server);
    await server.call("GET", `${CM}?resourceVersion=0`);
    const gets = counts.get;
    const one = await server.call("GET", `${CM}/one?resourceVersion=0`);
    expect(one.body).toEqual((await server.call("GET", `${CM}/one`)).body);
    const missing = await server.call("GET", `${CM}/nope?resourceVersion=0`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: "Status", reason: "NotFound" });
    // Only the consistent get above read the store.
    expect(counts.get).toBe(gets + 1);
    const lists = counts.list;
    const table = await server.call("GET", `${CM}?resourceVersion=0`, undefined, { Accept: TABLE });
    expect(table.body.kind).toBe("Table");
    expect((table.body.rows as { cells: unknown[] }[]).map((r) => r.cells[0])).toEqual(["one", "two"]);
    expect(counts.list).toBe(lists);
    await watch.close();
  });

  it("reads the store without a watcher, and always for a split resource", async () => {
    const splits: Record<string, number>[] = [{}, { "core/configmaps": 4 }];
    for (const shards of splits) {
      const { store, counts } = countingStore();
      const server = testServer({ store, shards, watchCache: new WatchCache() });
      const watch = Object.keys(shards).length ? await seeded(server) : undefined;
      for (let i = 0; i < 2; i++) {
        const before = counts.list;
        const list = await server.call("GET", `/api/v1/configmaps?resourceVersion=0`);
        expect(list.status).toBe(200);
        expect(counts.list).toBeGreaterThan(before);
      }
      await watch?.close();
    }
  });
});
