/**
 * One group-committed batch in a real SQLite Durable Object (workerd): writes
 * share one transaction, and a write that fails part-way (an SQL error after
 * its log row went in, injected here) fails alone: the batch is redone with a
 * savepoint per write, nothing of the failed write is left in SQL, in the
 * object's hot-key cache or in the watch history, and revisions stay gapless.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDurableStore } from "./client.ts";
import { collectUntil } from "./conformance/helpers.ts";
import type { StoreObject } from "./object.ts";
import type { KeyValue, TxnResult } from "./types.ts";

/** The object's SQL layer, reached for fault injection (a private field in TypeScript). */
interface Faulty {
  sql: { appendPut(kv: KeyValue, prevRev: number): void };
}

describe("a batch with a write that fails part-way", () => {
  it("fails that write alone; the others commit together with gapless revisions", async () => {
    const shard = `batch/fault${Date.now()}`;
    const prefix = `/registry/${shard}/`;
    const store = createDurableStore(env.STORE);
    const seed = await store.create(`${prefix}ns/b`, "old");
    const stub = env.STORE.get(env.STORE.idFromName(shard)) as DurableObjectStub<StoreObject>;
    const outcome = await runInDurableObject(stub, async (o: StoreObject) => {
      const sql = (o as unknown as Faulty).sql;
      const appendPut = sql.appendPut.bind(sql);
      // The write to .../b inserts its log row, then fails, as a full disk would.
      sql.appendPut = (kv, prevRev) => {
        appendPut(kv, prevRev);
        if (kv.key.endsWith("/b")) throw new Error("injected failure");
      };
      const before = { ...o.stats };
      try {
        // Issued in one turn: they land in one batch.
        const all = await Promise.allSettled([
          o.create(`${prefix}ns/a`, "A"),
          o.update(`${prefix}ns/b`, "new", seed.revision),
          o.create(`${prefix}ns/c`, "C"),
        ]);
        return { all, commits: o.stats.commits - before.commits };
      } finally {
        sql.appendPut = appendPut;
      }
    });
    expect(outcome.commits).toBe(1);
    const [a, b, c] = outcome.all;
    expect(b.status).toBe("rejected");
    expect(a.status === "fulfilled" && a.value.ok && (a.value.value as TxnResult).revision).toBe(
      seed.revision + 1,
    );
    expect(c.status === "fulfilled" && c.value.ok && (c.value.value as TxnResult).revision).toBe(
      seed.revision + 2,
    );
    // b is untouched everywhere: a get (served by the hot cache or SQL), a list, history.
    expect((await store.get(`${prefix}ns/b`)).kv).toMatchObject({ value: "old", modRevision: seed.revision });
    const list = await store.list(prefix);
    expect(list.revision).toBe(seed.revision + 2);
    expect(list.kvs.map((kv) => [kv.key.slice(prefix.length), kv.value])).toEqual([
      ["ns/a", "A"],
      ["ns/b", "old"],
      ["ns/c", "C"],
    ]);
    const ctl = new AbortController();
    const { events } = await collectUntil(
      store.watch(prefix, { afterRevision: seed.revision, signal: ctl.signal })[Symbol.asyncIterator](),
      (evs) => evs.length >= 2,
    );
    ctl.abort();
    expect(events.map((e) => [e.type, e.kv.key.slice(prefix.length), e.kv.modRevision])).toEqual([
      ["PUT", "ns/a", seed.revision + 1],
      ["PUT", "ns/c", seed.revision + 2],
    ]);
    // And b still takes a CAS against its real revision.
    const ok = await store.update(`${prefix}ns/b`, "newer", seed.revision);
    expect(ok).toMatchObject({ succeeded: true, revision: seed.revision + 3 });
  });
});
