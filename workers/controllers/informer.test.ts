/**
 * Informers against the real API server (over the in-memory store): the
 * first list, the watch that keeps the cache current, change reports, and
 * read-your-writes for the manager's own writes and assumptions.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { parseShardMap } from "../../durable-objects/store/sharded.ts";
import { createApiServer } from "../apiserver/app.ts";
import { RESOURCES } from "../apiserver/kinds/index.ts";
import { ADMIN_USER } from "../apiserver/tokens.ts";
import { createKubeClient, type KubeClient, type KubeObject } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import { InformerCache, type InformerEvent } from "./informer.ts";

function cluster(): KubeClient {
  const app = createApiServer({
    store: new MemoryStore(),
    // The workers-sharded project splits configmaps and pods over 4 store sub-shards.
    shards: parseShardMap((env as { STORE_SHARDS?: string }).STORE_SHARDS),
    resources: RESOURCES,
    authenticate: async () => ADMIN_USER,
  });
  return createKubeClient({
    baseUrl: "http://apiserver.test",
    fetch: async (url, init) => app.fetch(new Request(url, init)),
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cm = (name: string, data: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data,
});

let caches: InformerCache[] = [];
afterEach(() => {
  for (const c of caches) c.stop();
  caches = [];
});

function informers(client: KubeClient, events: InformerEvent[] = []): InformerCache {
  const cache = new InformerCache(client, (e) => events.push(e));
  caches.push(cache);
  return cache;
}

describe("InformerCache", () => {
  it("lists once (reporting what it found as ADDED, as client-go does), then follows the watch and reports each change", async () => {
    const kube = cluster();
    await kube.create(R.configmaps, "default", cm("before"));
    const events: InformerEvent[] = [];
    const cache = informers(kube, events);
    expect((await cache.list(R.configmaps)).map((o) => o.metadata?.name)).toEqual(["before"]);
    await until("the watch to run", () => cache.watching("/configmaps"));

    await kube.create(R.configmaps, "default", cm("after", { a: "1" }));
    await kube.patch(R.configmaps, "default", "before", "merge", { data: { b: "2" } });
    await kube.delete(R.configmaps, "default", "after");
    await until("four events", () => events.length >= 4);

    // Each event carries the object, and the cached copy it replaced (what controllers map to keys).
    const data = (o: KubeObject | undefined) => (o as { data?: Record<string, string> } | undefined)?.data;
    expect(
      events.map((e) => ({
        resource: e.resource,
        type: e.type,
        name: e.object.metadata?.name,
        data: data(e.object),
        old: data(e.old),
      })),
    ).toEqual([
      // The first list's object: a controller that did not start this informer hears of it too.
      { resource: "/configmaps", type: "ADDED", name: "before", data: {}, old: undefined },
      { resource: "/configmaps", type: "ADDED", name: "after", data: { a: "1" }, old: undefined },
      { resource: "/configmaps", type: "MODIFIED", name: "before", data: { b: "2" }, old: {} },
      { resource: "/configmaps", type: "DELETED", name: "after", data: { a: "1" }, old: { a: "1" } },
    ]);
    const items = await cache.list(R.configmaps);
    expect(items.map((o) => o.metadata?.name)).toEqual(["before"]);
    expect(items[0].data).toEqual({ b: "2" });
    expect(await cache.get(R.configmaps, "default", "after")).toBeUndefined();
  });

  it("shows our own writes at once, and never lets an older copy replace a newer one", async () => {
    const kube = cluster();
    const events: InformerEvent[] = [];
    const cache = informers(kube, events);
    expect(await cache.list(R.configmaps)).toEqual([]);
    const created = await kube.create(R.configmaps, "default", cm("mine"));
    // Before the watch can have delivered it, the write's own answer is enough, and is reported as a change.
    expect(cache.wrote(R.configmaps, created, false)).toBe(true);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(["ADDED mine"]);
    expect((await cache.get(R.configmaps, "default", "mine"))?.metadata?.uid).toBe(created.metadata?.uid);

    const updated = await kube.update(R.configmaps, "default", { ...created, data: { v: "2" } });
    cache.wrote(R.configmaps, updated, false);
    cache.assume(R.configmaps, created); // older resourceVersion: ignored
    expect((await cache.get(R.configmaps, "default", "mine"))?.data).toEqual({ v: "2" });

    const deleted = await kube.delete(R.configmaps, "default", "mine");
    cache.wrote(R.configmaps, deleted, true);
    expect(await cache.get(R.configmaps, "default", "mine")).toBeUndefined();
    // A late event for the deleted object (same revision) must not bring it back.
    cache.assume(R.configmaps, updated);
    expect(await cache.get(R.configmaps, "default", "mine")).toBeUndefined();
  });

  it("keeps an assumption until the watch shows a newer revision", async () => {
    const kube = cluster();
    const made = await kube.create(R.configmaps, "default", cm("pod-like", { node: "" }));
    const cache = informers(kube);
    await cache.list(R.configmaps);
    await until("the watch to run", () => cache.watching("/configmaps"));
    const assumed: KubeObject = { ...made, data: { node: "n1" } };
    cache.assume(R.configmaps, assumed);
    expect((await cache.get(R.configmaps, "default", "pod-like"))?.data).toEqual({ node: "n1" });

    await kube.patch(R.configmaps, "default", "pod-like", "merge", { data: { node: "n2" } });
    await until(
      "the newer revision",
      async () =>
        (await cache.get<KubeObject & { data?: Record<string, string> }>(R.configmaps, "default", "pod-like"))
          ?.data?.node === "n2",
    );
  });

  it("does not keep a resource it could not list, so the next reader tries again", async () => {
    const kube = cluster();
    const cache = informers(kube);
    const missing = { ...R.configmaps, group: "nothing.example", resource: "widgets" };
    await expect(cache.list(missing)).rejects.toThrow();
    expect(cache.watching("nothing.example/widgets")).toBe(false);
    await expect(cache.list(missing)).rejects.toThrow();
  });
});
