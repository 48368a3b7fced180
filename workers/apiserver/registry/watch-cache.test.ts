/**
 * The watch cache against the in-memory store: one upstream per resource
 * fanned out to every watcher, late joiners served from the window, joiners
 * older than the window sent to the store, Compacted passed on, and the
 * upstream handed over when its owner leaves, with every event exactly once
 * and in order. (Across real workerd requests: ../watch-cache.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { type Store, StoreError, type WatchMessage } from "../../../durable-objects/store/types.ts";
import { WatchCache } from "./watch-cache.ts";

const RESOURCE = "/registry/core/configmaps/";

/** `store` with its watch replaced. */
function withWatch(store: Store, watch: Store["watch"]): Store {
  return new Proxy(store, {
    get: (target, name) => {
      if (name === "watch") return watch;
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The store, counting the watches opened on it and those still open. */
function counting(store: Store) {
  const counts = { opened: 0, open: 0 };
  const wrapped = withWatch(store, (prefix, options) => {
    counts.opened++;
    counts.open++;
    const inner = store.watch(prefix, options);
    return (async function* () {
      try {
        yield* inner;
      } finally {
        counts.open--;
      }
    })();
  });
  return { store: wrapped, counts };
}

/** A reader of one watch: `events(n)` resolves with the next n events' "key@revision". */
function reader(stream: AsyncIterable<WatchMessage>) {
  const it = stream[Symbol.asyncIterator]();
  const buffered: string[] = [];
  const messages: WatchMessage[] = [];
  return {
    async events(n: number): Promise<string[]> {
      while (buffered.length < n) {
        const next = await it.next();
        if (next.done) break;
        messages.push(next.value);
        if (next.value.type === "events")
          for (const e of next.value.events)
            buffered.push(`${e.kv.key.split("/").slice(4).join("/")}@${e.kv.modRevision}`);
      }
      return buffered.splice(0, n);
    },
    /** Waits for a progress message (bounded by the test timeout). */
    async progress(): Promise<number> {
      for (;;) {
        const next = await it.next();
        if (next.done) throw new Error("ended");
        if (next.value.type === "progress") return next.value.revision;
        for (const e of next.value.events) buffered.push(`${e.kv.key}@${e.kv.modRevision}`);
      }
    },
    next: () => it.next(),
    close: () => it.return?.(undefined),
  };
}

async function put(store: Store, ns: string, name: string, value = "v"): Promise<number> {
  const key = `${RESOURCE}${ns}/${name}`;
  const { kv } = await store.get(key);
  const r = kv ? await store.update(key, value, kv.modRevision) : await store.create(key, value);
  return r.revision;
}

describe("watch cache", () => {
  it("fans one store watch out to every watcher, each event once and in order, per namespace", async () => {
    const { store, counts } = counting(new MemoryStore());
    const cache = new WatchCache();
    const start = await put(store, "a", "seed");
    const all = [1, 2, 3].map(() => reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: start })));
    const onlyB = reader(cache.watch(store, RESOURCE, `${RESOURCE}b/`, { afterRevision: start }));
    const writes = [];
    for (const [ns, name] of [
      ["a", "x"],
      ["b", "y"],
      ["a", "x"],
      ["b", "z"],
    ])
      writes.push(`${ns}/${name}@${await put(store, ns, name)}`);
    for (const r of all) expect(await r.events(4)).toEqual(writes);
    expect(await onlyB.events(2)).toEqual(writes.filter((w) => w.startsWith("b/")));
    expect(counts.opened).toBe(1);
    expect(cache.watchers(RESOURCE)).toBe(4);
    for (const r of [...all, onlyB]) await r.close();
    expect(cache.watchers(RESOURCE)).toBe(0);
    expect(counts.open).toBe(0);
  });

  it("serves a late joiner from its window; one older than the window from the store", async () => {
    const { store, counts } = counting(new MemoryStore());
    const cache = new WatchCache({ window: 3 });
    const start = await put(store, "a", "seed");
    const first = reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: start }));
    const revs = [];
    for (let i = 0; i < 5; i++) revs.push(await put(store, "a", `o${i}`));
    expect(await first.events(5)).toHaveLength(5);
    // In the window (the last 3 events): no store watch of its own.
    const late = reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: revs[2] }));
    // Older than the window: the store's history.
    const old = reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: revs[0] }));
    const live = await put(store, "a", "after");
    expect(await late.events(3)).toEqual([`a/o3@${revs[3]}`, `a/o4@${revs[4]}`, `a/after@${live}`]);
    expect(await old.events(4)).toEqual([
      `a/o1@${revs[1]}`,
      `a/o2@${revs[2]}`,
      `a/o3@${revs[3]}`,
      `a/o4@${revs[4]}`,
    ]);
    expect(await old.events(1)).toEqual([`a/after@${live}`]);
    expect(counts.opened).toBe(2);
    for (const r of [first, late, old]) await r.close();
    expect(counts.open).toBe(0);
  });

  it("passes the store's Compacted on: a first watcher, and a joiner older than the window", async () => {
    const memory = new MemoryStore();
    const cache = new WatchCache({ window: 1 });
    const revs = [];
    for (let i = 0; i < 4; i++) revs.push(await put(memory, "a", `o${i}`));
    await memory.compact(revs[2]);
    const refused = reader(cache.watch(memory, RESOURCE, RESOURCE, { afterRevision: revs[0] }));
    await expect(refused.next()).rejects.toMatchObject({ code: "Compacted" });
    const ok = reader(cache.watch(memory, RESOURCE, RESOURCE, { afterRevision: revs[2] }));
    expect(await ok.events(1)).toEqual([`a/o3@${revs[3]}`]);
    await put(memory, "a", "o4");
    await ok.events(1);
    const tooOld = reader(cache.watch(memory, RESOURCE, RESOURCE, { afterRevision: revs[1] }));
    const error = await tooOld.next().catch((e) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe("Compacted");
    await ok.close();
  });

  it("hands the upstream over when its owner leaves: nothing lost, nothing repeated", async () => {
    const { store, counts } = counting(new MemoryStore());
    const cache = new WatchCache();
    const start = await put(store, "a", "seed");
    const owner = reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: start }));
    const others = [1, 2].map(() => reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: start })));
    const before = `a/x@${await put(store, "a", "x")}`;
    expect(await owner.events(1)).toEqual([before]);
    await owner.close();
    // Written while the upstream changes hands: the next one replays them from the cache's revision.
    const during = [];
    for (let i = 0; i < 3; i++) during.push(`a/y${i}@${await put(store, "a", `y${i}`)}`);
    for (const r of others) expect(await r.events(4)).toEqual([before, ...during]);
    expect(counts.opened).toBe(2);
    expect(counts.open).toBe(1);
    const after = `a/z@${await put(store, "a", "z")}`;
    for (const r of others) expect(await r.events(1)).toEqual([after]);
    for (const r of others) await r.close();
    expect(counts.open).toBe(0);
    expect(cache.watchers(RESOURCE)).toBe(0);
  });

  it("reopens an upstream that went silent, from a live watcher", async () => {
    const memory = new MemoryStore();
    let calls = 0;
    // The first upstream never delivers nor ends (an owner's request killed without cleanup).
    const store = withWatch(memory, (prefix, options) => {
      calls++;
      if (calls === 1) return { [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) };
      return memory.watch(prefix, options);
    });
    const cache = new WatchCache({ progressIntervalMs: 10 });
    const start = await put(memory, "a", "seed");
    const w = reader(cache.watch(store, RESOURCE, RESOURCE, { afterRevision: start }));
    const rev = await put(memory, "a", "x");
    expect(await w.events(1)).toEqual([`a/x@${rev}`]);
    expect(calls).toBe(2);
    await w.close();
  });

  it("sends progress to a quiet watcher that asked for it, at the revision it has everything up to", async () => {
    const memory = new MemoryStore();
    const cache = new WatchCache({ progressIntervalMs: 20 });
    const start = await put(memory, "a", "seed");
    const w = reader(
      cache.watch(memory, RESOURCE, `${RESOURCE}b/`, { afterRevision: start, progressIntervalMs: 20 }),
    );
    const other = await put(memory, "a", "x");
    expect(await w.progress()).toBeGreaterThanOrEqual(other);
    await w.close();
  });

  it("ends a watcher that falls too far behind; the others go on", async () => {
    const memory = new MemoryStore();
    const cache = new WatchCache({ maxLag: 3 });
    const start = await put(memory, "a", "seed");
    const slow = reader(cache.watch(memory, RESOURCE, RESOURCE, { afterRevision: start }));
    const fast = reader(cache.watch(memory, RESOURCE, RESOURCE, { afterRevision: start }));
    // The slow one takes the first event, then reads no more while four others come.
    const first = slow.next();
    const revs = [];
    for (let i = 0; i < 5; i++) {
      revs.push(await put(memory, "a", `o${i}`));
      expect(await fast.events(1)).toEqual([`a/o${i}@${revs[i]}`]);
    }
    expect(await first).toMatchObject({
      value: { type: "events", events: [{ kv: { modRevision: revs[0] } }] },
    });
    expect(await slow.next()).toMatchObject({ done: true });
    await fast.close();
  });
});
