/**
 * Many clients racing read-modify-CAS increments on shared keys, against the
 * Durable Object store in workerd (and the memory store for reference): no
 * acknowledged increment is lost, and a watcher that reconnects from its last
 * revision sees every revision exactly once, in order.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDurableStore } from "./client.ts";
import { collectUntil } from "./conformance.ts";
import { MemoryStore } from "./memory.ts";
import type { StoreObject } from "./object.ts";
import type { Store, WatchEvent } from "./types.ts";

const CLIENTS = 24;
const INCREMENTS = 10;
const KEYS = 3;

/** One client: read a counter, CAS it to n+1, retry on conflict; returns acknowledged increments per key. */
async function incrementer(store: Store, prefix: string, seed: number): Promise<number[]> {
  const acked = new Array(KEYS).fill(0);
  for (let i = 0; i < INCREMENTS; i++) {
    const k = (seed + i) % KEYS;
    const key = `${prefix}ns/counter${k}`;
    for (;;) {
      const { kv } = await store.get(key);
      const n = kv ? Number(kv.value) : 0;
      const r = kv ? await store.update(key, String(n + 1), kv.modRevision) : await store.create(key, "1");
      if (r.succeeded) {
        acked[k]++;
        break;
      }
    }
  }
  return acked;
}

async function race(store: Store, prefix: string): Promise<void> {
  const start = (await store.revisions(prefix)).current;
  // The watcher drops its connection every 40 events and resumes from the last revision it saw.
  const expected = CLIENTS * INCREMENTS;
  const watched = (async () => {
    const seen: WatchEvent[] = [];
    let after = start;
    while (seen.length < expected) {
      const ctl = new AbortController();
      const iter = store
        .watch(`${prefix}ns/`, { afterRevision: after, signal: ctl.signal })
        [Symbol.asyncIterator]();
      const want = Math.min(expected, seen.length + 40);
      const got = await collectUntil(iter, (ev) => seen.length + ev.length >= want, 60_000);
      seen.push(...got.events);
      after = seen[seen.length - 1].kv.modRevision;
      ctl.abort();
      await iter.return?.();
    }
    return seen;
  })();
  const perClient = await Promise.all(
    Array.from({ length: CLIENTS }, (_, c) => incrementer(store, prefix, c)),
  );
  const seen = await watched;
  for (let k = 0; k < KEYS; k++) {
    const acked = perClient.reduce((sum, a) => sum + a[k], 0);
    const { kv } = await store.get(`${prefix}ns/counter${k}`);
    expect(Number(kv?.value)).toBe(acked);
  }
  const revs = seen.map((e) => e.kv.modRevision);
  expect(revs).toEqual(Array.from({ length: expected }, (_, i) => start + 1 + i));
  // Each key's values, in watch order, count up by one: no increment lost or duplicated.
  for (let k = 0; k < KEYS; k++) {
    const values = seen.filter((e) => e.kv.key.endsWith(`counter${k}`)).map((e) => Number(e.kv.value));
    expect(values).toEqual(Array.from({ length: values.length }, (_, i) => i + 1));
  }
}

describe("concurrent read-modify-CAS increments", { timeout: 60_000 }, () => {
  it("memory store", async () => {
    await race(new MemoryStore(), "/registry/concurrency/memory/");
  });

  it("durable object store, with writes sharing commits", async () => {
    const shard = `concurrency/do${Date.now()}`;
    await race(createDurableStore(env.STORE), `/registry/${shard}/`);
    const stub = env.STORE.get(env.STORE.idFromName(shard)) as DurableObjectStub<StoreObject>;
    const stats = await runInDurableObject(stub, (o: StoreObject) => ({ ...o.stats }));
    // Every successful increment plus every failed CAS went through the write queue...
    expect(stats.writes).toBeGreaterThanOrEqual(CLIENTS * INCREMENTS);
    // ...and with 24 clients racing, writes queued behind an in-flight commit shared the next one.
    expect(stats.commits).toBeLessThan(stats.writes);
  });
});
