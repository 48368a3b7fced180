/**
 * Conformance cases for a resource split over 4 sub-shards (sharded.ts) on
 * top of each implementation: routing, lists merged at one revision vector
 * (pages consistent while every sub-shard takes writes), merged watches
 * resumed from any event's vector with nothing missed or repeated, and
 * refusals by name where one number cannot describe the collection.
 */
import { describe, expect, it } from "vitest";
import { createShardedStore, logicalKey, type ShardedStore, subShardOf } from "../sharded.ts";
import type { Store, WatchEvent } from "../types.ts";
import { deadline, expectStoreError, firstError, type StoreHarness } from "./helpers.ts";

const SHARDS = 4;

let counter = 0;
/** A fresh resource split 4 ways: its store view and prefix. */
function fresh(base: Store): { store: ShardedStore; p: string; head: string } {
  counter++;
  const resource = `pods${counter}x${Math.random().toString(36).slice(2, 8)}`;
  const store = createShardedStore(base, { [`conformance/${resource}`]: SHARDS });
  const head = `/registry/conformance/${resource}`;
  return { store, p: `${head}/`, head };
}

/** Names whose keys land on every sub-shard (and more than one per sub-shard). */
const NAMES = Array.from({ length: 24 }, (_, i) => `n${String(i).padStart(2, "0")}`);

/** One event per (logical key, value) in the order delivered. */
const seen = (events: WatchEvent[]) => events.map((e) => `${e.type} ${logicalKey(e.kv.key)}=${e.kv.value}`);

/** Reads a merged watch until `n` events came, remembering each event's resume vector. */
async function take(it: AsyncIterator<unknown>, n: number) {
  const events: WatchEvent[] = [];
  const resume: number[][] = [];
  const run = async () => {
    while (events.length < n) {
      const r = await it.next();
      if (r.done) throw new Error("watch ended early");
      const m = r.value as { type: string; events?: WatchEvent[]; shard?: number; before?: number[] };
      if (m.type !== "events" || !m.events || !m.before || m.shard === undefined) continue;
      for (const e of m.events) {
        const v = [...m.before];
        v[m.shard] = e.kv.modRevision;
        events.push(e);
        resume.push(v);
      }
    }
    return { events, resume };
  };
  return deadline(run(), 10_000, "merged watch events");
}

/** The code of the error a watch ends with (reading past any events), bounded. */
async function endError(watch: AsyncIterable<unknown>): Promise<string | undefined> {
  const run = async () => {
    try {
      for await (const _ of watch) {
        // Events from sub-shards that were not refused.
      }
      return undefined;
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };
  return deadline(run(), 10_000, "watch error");
}

/** Registers the sub-shard cases for `make`. */
export function shardedCases(make: () => Promise<StoreHarness>): void {
  describe("a resource on 4 sub-shards", () => {
    it("routes each key to one sub-shard by namespace/name; CAS and reads go there", async () => {
      const { store: base } = await make();
      const { store, p, head } = fresh(base);
      for (const name of NAMES) await store.create(`${p}ns/${name}`, name);
      const counts = await Promise.all(
        Array.from({ length: SHARDS }, async (_, i) => (await base.count(`${head}#${i}/`)).count),
      );
      expect(counts.every((c) => c > 0)).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(NAMES.length);
      expect((await store.count(p)).count).toBe(NAMES.length);
      const got = await store.get(`${p}ns/n05`);
      expect(logicalKey(got.kv!.key)).toBe(`${p}ns/n05`);
      expect(subShardOf(got.kv!.key)).toBeGreaterThanOrEqual(0);
      // CAS by the logical or the physical key reaches the same object.
      const u = await store.update(`${p}ns/n05`, "v2", got.kv!.modRevision);
      expect(u.succeeded).toBe(true);
      expect((await store.update(got.kv!.key, "stale", got.kv!.modRevision)).succeeded).toBe(false);
      const d = await store.delete(got.kv!.key, u.revision);
      expect(d.succeeded).toBe(true);
      expect((await store.get(`${p}ns/n05`)).kv).toBeUndefined();
    });

    it("lists in key order across sub-shards, paged at one vector while every sub-shard takes writes", async () => {
      const { store: base } = await make();
      const { store, p } = fresh(base);
      for (const name of NAMES) await store.create(`${p}ns/${name}`, "v1");
      const first = await store.listAt(`${p}ns/`, { limit: 10 });
      expect(first.revisions).toHaveLength(SHARDS);
      expect(first.kvs.map((kv) => logicalKey(kv.key))).toEqual(NAMES.slice(0, 10).map((n) => `${p}ns/${n}`));
      expect(first).toMatchObject({ more: true, remaining: 14 });
      // Writes to every sub-shard between pages: an update, a delete and a create on each.
      for (const name of NAMES) {
        const { kv } = await store.get(`${p}ns/${name}`);
        await store.update(`${p}ns/${name}`, "v2", kv!.modRevision);
      }
      await store.delete(`${p}ns/n15`);
      await store.create(`${p}ns/n99`, "new");
      const lastKey = (kvs: { key: string }[]) => logicalKey(kvs[kvs.length - 1].key);
      const second = await store.listAt(`${p}ns/`, {
        limit: 10,
        revisions: first.revisions,
        startAfter: lastKey(first.kvs),
      });
      expect(second.revisions).toEqual(first.revisions);
      expect(second.kvs.map((kv) => kv.value)).toEqual(Array(10).fill("v1"));
      const third = await store.listAt(`${p}ns/`, {
        limit: 10,
        revisions: first.revisions,
        startAfter: lastKey(second.kvs),
      });
      expect(third.kvs.map((kv) => logicalKey(kv.key))).toEqual(NAMES.slice(20).map((n) => `${p}ns/${n}`));
      expect(third).toMatchObject({ more: false, remaining: 0 });
      // Now: the writes are there, and the vector moved on every sub-shard.
      const now = await store.listAt(`${p}ns/`);
      expect(now.kvs).toHaveLength(NAMES.length);
      expect(now.kvs.map((kv) => kv.value).filter((v) => v === "v2")).toHaveLength(NAMES.length - 1);
      expect(now.revisions.every((r, i) => r > first.revisions[i])).toBe(true);
      expect(now).toMatchObject({ more: false, remaining: 0 });
    });

    it("merges watches: replay then live, each event once; resuming from any event's vector gives exactly the rest", async () => {
      const { store: base } = await make();
      const { store, p } = fresh(base);
      const start = await store.currentRevisions(p);
      for (const name of NAMES.slice(0, 12)) await store.create(`${p}ns/${name}`, "a");
      const watch = store.watchFrom(`${p}ns/`, { after: start })[Symbol.asyncIterator]();
      for (const name of NAMES.slice(12)) await store.create(`${p}ns/${name}`, "b");
      await store.create(`${p}other/x`, "not this namespace");
      const all = await take(watch, NAMES.length);
      await watch.return?.();
      expect(new Set(seen(all.events)).size).toBe(NAMES.length);
      expect(seen(all.events).sort()).toEqual(
        NAMES.map((n, i) => `PUT ${p}ns/${n}=${i < 12 ? "a" : "b"}`).sort(),
      );
      // Resume after the 7th event delivered: exactly the other 17, none of the first 7.
      const resumed = store.watchFrom(`${p}ns/`, { after: all.resume[6] })[Symbol.asyncIterator]();
      const rest = await take(resumed, NAMES.length - 7);
      expect(seen(rest.events).sort()).toEqual(seen(all.events.slice(7)).sort());
      // And nothing more arrives before a marker write lands.
      await store.create(`${p}ns/zz`, "marker");
      const marker = await take(resumed, 1);
      expect(seen(marker.events)).toEqual([`PUT ${p}ns/zz=marker`]);
      await resumed.return?.();
    });

    it("reads at a past vector; a compacted sub-shard fails the list and the watch with Compacted", async () => {
      const { store: base } = await make();
      const { store, p, head } = fresh(base);
      for (const name of NAMES.slice(0, 8)) await store.create(`${p}ns/${name}`, "v1");
      const past = await store.listAt(`${p}ns/`);
      for (const name of NAMES.slice(0, 8)) {
        const { kv } = await store.get(`${p}ns/${name}`);
        await store.update(`${p}ns/${name}`, "v2", kv!.modRevision);
      }
      const then = await store.listAt(`${p}ns/`, { revisions: past.revisions });
      expect(then.kvs.map((kv) => kv.value)).toEqual(Array(8).fill("v1"));
      const shard = subShardOf((await store.get(`${p}ns/n00`)).kv!.key)!;
      const current = await base.revisions(`${head}#${shard}/`);
      await base.compact(current.current, `${head}#${shard}/`);
      await expectStoreError(store.listAt(`${p}ns/`, { revisions: past.revisions }), "Compacted");
      // Other sub-shards may deliver first; the watch then ends with the compacted one's refusal.
      expect(await endError(store.watchFrom(`${p}ns/`, { after: past.revisions }))).toBe("Compacted");
      const future = past.revisions.map((r) => r + 1_000_000);
      await expectStoreError(store.listAt(`${p}ns/`, { revisions: future }), "FutureRevision");
    });

    it("refuses by name what one revision cannot describe, and vectors of the wrong length", async () => {
      const { store: base } = await make();
      const { store, p } = fresh(base);
      await store.create(`${p}ns/a`, "a");
      await expectStoreError(store.list(`${p}ns/`), "InvalidArgument");
      await expectStoreError(store.revisions(p), "InvalidArgument");
      await expectStoreError(store.compact(1, p), "InvalidArgument");
      await expectStoreError(store.listAt(`${p}ns/`, { revisions: [1, 2] }), "InvalidArgument");
      expect(
        ((await firstError(store.watch(`${p}ns/`, { afterRevision: 0 }))) as { code?: string }).code,
      ).toBe("InvalidArgument");
      expect(await endError(store.watchFrom(`${p}ns/`, { after: [1] }))).toBe("InvalidArgument");
      // An unsplit resource is a vector of one, its own revision.
      const plain = `/registry/conformance/plain${counter}x${Math.random().toString(36).slice(2, 8)}/`;
      const c = await store.create(`${plain}ns/a`, "a");
      expect(c.kv?.key).toBe(`${plain}ns/a`);
      expect((await store.listAt(`${plain}ns/`)).revisions).toEqual([(await store.revisions(plain)).current]);
    });
  });
}
