/**
 * The watch cache's read half against the in-memory store: the full state
 * loaded by the first read while a watcher keeps the store watch open,
 * kept current by that watch (writes and deletes), namespaces as ranges,
 * the freshness wait and its 504, and every case where the cache is not
 * ready and the caller must read the store. (Through the API: ../cache-reads.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { Store, WatchMessage } from "../../../durable-objects/store/types.ts";
import { ApiError } from "../../client/status.ts";
import { WatchCache } from "./watch-cache.ts";

const RESOURCE = "/registry/core/configmaps/";

/** The store, counting its list calls (the cache's loads). */
function counting(base: Store) {
  const counts = { lists: 0 };
  const store = new Proxy(base, {
    get: (target, name) => {
      const value = Reflect.get(target, name);
      if (name === "list") counts.lists++;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store, counts };
}

async function put(store: Store, ns: string, name: string, value = "v"): Promise<number> {
  const key = `${RESOURCE}${ns}/${name}`;
  const { kv } = await store.get(key);
  const r = kv ? await store.update(key, value, kv.modRevision) : await store.create(key, value);
  return r.revision;
}

/** A watcher of the whole resource, keeping the cache's store watch open until closed. */
function watcher(cache: WatchCache, store: Store, after: number) {
  const abort = new AbortController();
  const stream = cache.watch(store, RESOURCE, RESOURCE, { afterRevision: after, signal: abort.signal });
  // Drained in the background so the feed never ends it as slow; the abort ends the iteration.
  const drained = (async () => {
    for await (const message of stream) void (message as WatchMessage);
  })();
  return {
    close: async () => {
      abort.abort();
      await drained;
    },
  };
}

/** "ns/name=value" of what a read of the cache holds under `prefix`. */
function contents(state: Awaited<ReturnType<WatchCache["read"]>>, prefix = RESOURCE): string[] {
  return (state?.range(prefix) ?? []).map((kv) => `${kv.key.slice(RESOURCE.length)}=${kv.value}`);
}

describe("watch cache reads", () => {
  it("is not ready without a watcher; with one, the first read loads the full state once", async () => {
    const { store, counts } = counting(new MemoryStore());
    const cache = new WatchCache();
    await put(store, "a", "x", "1");
    const start = await put(store, "b", "y", "2");
    expect(await cache.read(store, RESOURCE, 0, "list")).toBeUndefined();
    expect(counts.lists).toBe(0);
    // The watcher starts after both writes: the state still holds them (the list, not the window).
    const w = watcher(cache, store, start);
    const first = await cache.read(store, RESOURCE, 0, "list");
    expect(contents(first)).toEqual(["a/x=1", "b/y=2"]);
    expect(first?.revision).toBe(start);
    await cache.read(store, RESOURCE, 0, "get");
    expect(counts.lists).toBe(1);
    await w.close();
  });

  it("follows writes and deletes through the store watch, waiting for the revision asked", async () => {
    const store = new MemoryStore();
    const cache = new WatchCache();
    const start = await put(store, "a", "x", "1");
    const w = watcher(cache, store, start);
    expect(contents(await cache.read(store, RESOURCE, 0, "list"))).toEqual(["a/x=1"]);
    await put(store, "a", "x", "2");
    await put(store, "b", "new", "3");
    const { revision: deleted } = await store.delete(`${RESOURCE}a/x`);
    // NotOlderThan the delete: the read waits until the watch delivered it.
    const state = await cache.read(store, RESOURCE, deleted, "list");
    expect(state?.revision).toBeGreaterThanOrEqual(deleted);
    expect(contents(state)).toEqual(["b/new=3"]);
    expect(state?.get(`${RESOURCE}a/x`)).toBeUndefined();
    expect(state?.get(`${RESOURCE}b/new`)?.value).toBe("3");
    await w.close();
  });

  it("reads a namespace as the range of its keys, in key order", async () => {
    const store = new MemoryStore();
    const cache = new WatchCache();
    for (const [ns, name] of [
      ["b", "z"],
      ["a", "y"],
      ["ab", "q"],
      ["b", "c"],
    ])
      await put(store, ns, name);
    const w = watcher(cache, store, await put(store, "c", "last"));
    const state = await cache.read(store, RESOURCE, 0, "list");
    const added = await put(store, "b", "m");
    const fresh = await cache.read(store, RESOURCE, added, "list");
    expect(contents(fresh, `${RESOURCE}b/`)).toEqual(["b/c=v", "b/m=v", "b/z=v"]);
    expect(contents(state, `${RESOURCE}a/`)).toEqual(["a/y=v"]);
    expect(contents(fresh)).toEqual(["a/y=v", "ab/q=v", "b/c=v", "b/m=v", "b/z=v", "c/last=v"]);
    await w.close();
  });

  it("answers a resourceVersion the watch does not reach in time with 504 Too large resource version", async () => {
    const store = new MemoryStore();
    const cache = new WatchCache({ blockTimeoutMs: 50 });
    const start = await put(store, "a", "x");
    const w = watcher(cache, store, start);
    const error = await cache.read(store, RESOURCE, start + 1000, "list").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).toStatus()).toMatchObject({
      code: 504,
      reason: "Timeout",
      message: `Too large resource version: ${start + 1000}, current: ${start}`,
      details: { causes: [{ reason: "ResourceVersionTooLarge" }], retryAfterSeconds: 1 },
    });
    await w.close();
  });

  it("lets the store answer once the last watcher leaves, and when the state is over budget", async () => {
    const store = new MemoryStore();
    const cache = new WatchCache();
    const w = watcher(cache, store, await put(store, "a", "x"));
    expect(await cache.read(store, RESOURCE, 0, "list")).toBeDefined();
    await w.close();
    expect(await cache.read(store, RESOURCE, 0, "list")).toBeUndefined();

    const small = new WatchCache({ maxStateBytes: 300 });
    const v = watcher(small, store, await put(store, "a", "y"));
    // One object fits; the state then outgrows the budget through the watch and is dropped for good.
    await store.delete(`${RESOURCE}a/x`);
    const one = await put(store, "a", "y", "1");
    expect(contents(await small.read(store, RESOURCE, one, "list"))).toEqual(["a/y=1"]);
    const big = await put(store, "a", "big", "x".repeat(400));
    const waited = await small.read(store, RESOURCE, big, "list");
    expect(waited).toBeUndefined();
    expect(await small.read(store, RESOURCE, 0, "list")).toBeUndefined();
    await v.close();
  });
});
