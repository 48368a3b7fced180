/**
 * Compaction on the alarm: history older than the retention answers
 * Compacted, and under steady churn the SQLite file stops growing because
 * dead rows are reclaimed in bounded batches.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { createDurableStore } from "./client.ts";
import type { StoreObject } from "./object.ts";
import type { StoreError } from "./types.ts";

function shard(name: string) {
  const id = `compaction/${name}${Date.now()}`;
  const stub = env.STORE.get(env.STORE.idFromName(id)) as DurableObjectStub<StoreObject>;
  return { prefix: `/registry/${id}/`, stub };
}

/** Runs alarms until compaction has reclaimed everything it may (bounded). */
async function compactFully(stub: DurableObjectStub<StoreObject>): Promise<number> {
  let alarms = 0;
  for (; alarms < 50; alarms++) {
    await runDurableObjectAlarm(stub);
    const behind = await runInDurableObject(stub, (o: StoreObject) => o.reclaimBacklog());
    if (behind === 0) return alarms + 1;
  }
  throw new Error("compaction did not catch up in 50 alarms");
}

it("the alarm compacts history beyond the retention; older reads answer Compacted", async () => {
  const { prefix, stub } = shard("retention");
  await runInDurableObject(stub, (o: StoreObject) => {
    o.options = { ...o.options, keepRevisions: 20, keepMs: 0 };
  });
  const store = createDurableStore(env.STORE);
  let r = await store.create(`${prefix}ns/a`, "0");
  const first = r.revision;
  for (let i = 1; i <= 100; i++) r = await store.update(`${prefix}ns/a`, String(i), r.revision);
  await compactFully(stub);
  const { current, compacted } = await store.revisions(prefix);
  expect(current).toBe(first + 100);
  expect(compacted).toBe(current - 20);
  const err = await store.get(`${prefix}ns/a`, first).catch((e: unknown) => e);
  expect((err as StoreError).code).toBe("Compacted");
  expect((await store.get(`${prefix}ns/a`, compacted)).kv?.value).toBe(String(compacted - first));
  expect((await store.get(`${prefix}ns/a`)).kv?.value).toBe("100");
}, 30_000);

it("the time retention keeps recent history however many revisions", async () => {
  const { prefix, stub } = shard("time");
  await runInDurableObject(stub, (o: StoreObject) => {
    o.options = { ...o.options, keepRevisions: 5, keepMs: 60 * 60_000 };
  });
  const store = createDurableStore(env.STORE);
  let r = await store.create(`${prefix}ns/a`, "0");
  for (let i = 1; i <= 30; i++) r = await store.update(`${prefix}ns/a`, String(i), r.revision);
  await compactFully(stub);
  expect((await store.revisions(prefix)).compacted).toBe(0);
}, 30_000);

it("storage stops growing under steady churn", async () => {
  const { prefix, stub } = shard("churn");
  await runInDurableObject(stub, (o: StoreObject) => {
    o.options = { ...o.options, keepRevisions: 100, keepMs: 0, reclaimBatchRevisions: 200 };
  });
  const store = createDurableStore(env.STORE);
  const value = "v".repeat(1024);
  const mods = new Map<string, number>();
  for (let k = 0; k < 10; k++)
    mods.set(`${prefix}ns/k${k}`, (await store.create(`${prefix}ns/k${k}`, value)).revision);
  const sizes: number[] = [];
  for (let round = 0; round < 8; round++) {
    // 300 updates of 1 KiB per round, 30 per key, racing in parallel per key.
    await Promise.all(
      [...mods.keys()].map(async (key) => {
        for (let i = 0; i < 30; i++) {
          const r = await store.update(key, value, mods.get(key)!);
          expect(r.succeeded).toBe(true);
          mods.set(key, r.revision);
        }
      }),
    );
    await compactFully(stub);
    sizes.push(await stub.databaseSize());
  }
  console.log(`database size per round (bytes): ${sizes.join(", ")}`);
  // 2,400 KiB were written; the file holds ~100 revisions' worth and stays flat once warm.
  // Page reuse lets the size wobble by a few pages (SQLite's freelist and b-tree splits vary run to run: one
  // CI run ended a page past the warm-up peak), never by a round's 300 KiB, which growth would add each round.
  const warm = Math.max(...sizes.slice(0, 3));
  const wobble = 4 * 4096;
  for (const s of sizes.slice(3)) expect(s).toBeLessThanOrEqual(warm + wobble);
  expect(sizes[sizes.length - 1]).toBeLessThan(8 * 300 * 1024);
}, 60_000);

it("after rows are reclaimed, every revision from the compacted one on reads and replays as before", async () => {
  const { prefix, stub } = shard("property");
  const store = createDurableStore(env.STORE);
  // A deterministic mix of creates, updates, deletes and re-creates over a few keys.
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 150; i++) {
    const key = `${prefix}ns/k${rand(6)}`;
    const { kv } = await store.get(key);
    if (!kv) await store.create(key, `c${i}`);
    else if (rand(4) === 0) await store.delete(key, kv.modRevision);
    else await store.update(key, `u${i}`, kv.modRevision);
  }
  const { current } = await store.revisions(prefix);
  const cut = current - 60;
  const before = new Map<number, unknown>();
  for (let r = cut; r <= current; r++) before.set(r, (await store.list(`${prefix}ns/`, { revision: r })).kvs);
  const replay = async () => {
    const ctl = new AbortController();
    const iter = store
      .watch(`${prefix}ns/`, { afterRevision: cut, signal: ctl.signal })
      [Symbol.asyncIterator]();
    const events = [];
    while (events.length < current - cut) {
      const r = await iter.next();
      if (r.done) throw new Error("watch ended");
      if (r.value.type === "events") events.push(...r.value.events);
    }
    ctl.abort();
    await iter.return?.();
    return events;
  };
  const eventsBefore = await replay();
  await store.compact(cut, prefix);
  await compactFully(stub);
  for (let r = cut; r <= current; r++) {
    expect((await store.list(`${prefix}ns/`, { revision: r })).kvs, `list at ${r}`).toEqual(before.get(r));
  }
  expect(await replay()).toEqual(eventsBefore);
  const err = await store.list(`${prefix}ns/`, { revision: cut - 1 }).catch((e: unknown) => e);
  expect((err as StoreError).code).toBe("Compacted");
}, 60_000);
