/**
 * The one conformance suite every Store implementation runs (hono's
 * runTest pattern): `runStoreConformance("memory", makeHarness)`.
 *
 * Each test works under its own resource prefix (so on the Durable Object it
 * gets a fresh shard) and never sleeps: it waits on watch messages with a
 * bounded deadline, and moves lease time through the harness clock.
 */
import { describe, expect, it } from "vitest";
import { type KeyValue, type Store, StoreError, type WatchEvent, type WatchMessage } from "./types.ts";

/** What a conformance run needs from an implementation. */
export interface StoreHarness {
  store: Store;
  /** Moves the store's lease clock forward. */
  advanceClock(ms: number): Promise<void>;
  /** Runs lease expiry now (the memory store's expireLeases, the object's alarm). */
  expireLeases(): Promise<void>;
}

let counter = 0;
/** A fresh resource prefix (and so a fresh shard) per test. */
function freshPrefix(): string {
  counter++;
  return `/registry/conformance/r${counter}x${Math.random().toString(36).slice(2, 8)}/`;
}

/** Rejects after `ms`: a bound on waiting for a condition, never a sleep. */
function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** Reads a watch until `done(events so far)` holds; returns events (progress messages collected separately). */
export async function collectUntil(
  it: AsyncIterator<WatchMessage>,
  done: (events: WatchEvent[], progress: number[]) => boolean,
  ms = 10_000,
): Promise<{ events: WatchEvent[]; progress: number[] }> {
  const events: WatchEvent[] = [];
  const progress: number[] = [];
  const run = async () => {
    while (!done(events, progress)) {
      const r = await it.next();
      if (r.done) throw new Error("watch ended early");
      if (r.value.type === "events") events.push(...r.value.events);
      else progress.push(r.value.revision);
    }
    return { events, progress };
  };
  return deadline(run(), ms, "watch events");
}

async function expectStoreError(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected StoreError ${code}`).toBeInstanceOf(Error);
  expect((err as StoreError).name).toBe("StoreError");
  expect((err as StoreError).code).toBe(code);
}

async function firstError(iterable: AsyncIterable<WatchMessage>): Promise<unknown> {
  const iter = iterable[Symbol.asyncIterator]();
  try {
    await deadline(iter.next(), 10_000, "watch error");
    return undefined;
  } catch (e) {
    return e;
  } finally {
    await iter.return?.();
  }
}

function revs(events: WatchEvent[]): number[] {
  return events.map((e) => e.kv.modRevision);
}

/** Runs the shared Store conformance suite against `make()`. */
export function runStoreConformance(name: string, make: () => Promise<StoreHarness>): void {
  describe(`${name}: store conformance`, () => {
    describe("writes and reads", () => {
      it("create, then get the key with its revisions", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const before = await store.revisions(p);
        const r = await store.create(`${p}ns/a`, "v1");
        expect(r.succeeded).toBe(true);
        expect(r.revision).toBe(before.current + 1);
        expect(r.kv).toEqual({
          key: `${p}ns/a`,
          value: "v1",
          createRevision: r.revision,
          modRevision: r.revision,
          version: 1,
          lease: 0,
        });
        const g = await store.get(`${p}ns/a`);
        expect(g.kv).toEqual(r.kv);
        expect(g.revision).toBe(r.revision);
        expect((await store.revisions(p)).current).toBe(r.revision);
        expect((await store.get(`${p}ns/missing`)).kv).toBeUndefined();
      });

      it("create of an existing key fails and returns the existing kv", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const b = await store.create(`${p}ns/a`, "v2");
        expect(b.succeeded).toBe(false);
        expect(b.kv).toEqual(a.kv);
        expect(b.revision).toBe(a.revision);
        expect((await store.get(`${p}ns/a`)).kv?.value).toBe("v1");
      });

      it("update is a CAS on modRevision; a mismatch returns the current kv", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const u = await store.update(`${p}ns/a`, "v2", a.revision);
        expect(u.succeeded).toBe(true);
        if (!u.succeeded) return;
        expect(u.kv).toMatchObject({
          value: "v2",
          createRevision: a.revision,
          modRevision: a.revision + 1,
          version: 2,
        });
        const stale = await store.update(`${p}ns/a`, "v3", a.revision);
        expect(stale.succeeded).toBe(false);
        expect(stale.kv).toEqual(u.kv);
        expect(stale.revision).toBe(u.revision);
        const absent = await store.update(`${p}ns/none`, "v", 1);
        expect(absent).toEqual({ succeeded: false, revision: u.revision, kv: undefined });
      });

      it("delete with and without a precondition; delete of an absent key fails", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const u = await store.update(`${p}ns/a`, "v2", a.revision);
        const wrong = await store.delete(`${p}ns/a`, a.revision);
        expect(wrong.succeeded).toBe(false);
        expect(wrong.kv).toEqual(u.kv);
        const d = await store.delete(`${p}ns/a`, u.revision);
        expect(d.succeeded).toBe(true);
        expect(d.revision).toBe(u.revision + 1);
        expect(d.kv).toEqual(u.kv);
        expect((await store.get(`${p}ns/a`)).kv).toBeUndefined();
        expect((await store.delete(`${p}ns/a`)).succeeded).toBe(false);
        await store.create(`${p}ns/b`, "x");
        const d2 = await store.delete(`${p}ns/b`);
        expect(d2.succeeded).toBe(true);
        expect(d2.kv?.value).toBe("x");
      });

      it("recreating a deleted key starts a new life (createRevision, version 1)", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        await store.delete(`${p}ns/a`);
        const b = await store.create(`${p}ns/a`, "v2");
        expect(b.kv).toMatchObject({
          version: 1,
          createRevision: a.revision + 2,
          modRevision: a.revision + 2,
        });
      });

      it("get at a past revision sees that revision's state", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const u = await store.update(`${p}ns/a`, "v2", a.revision);
        await store.delete(`${p}ns/a`);
        expect((await store.get(`${p}ns/a`, a.revision)).kv?.value).toBe("v1");
        expect((await store.get(`${p}ns/a`, u.revision)).kv?.value).toBe("v2");
        expect((await store.get(`${p}ns/a`, a.revision - 1)).kv).toBeUndefined();
        expect((await store.get(`${p}ns/a`, a.revision)).revision).toBe(a.revision);
        await expectStoreError(store.get(`${p}ns/a`, u.revision + 100), "FutureRevision");
      });

      it("stores values verbatim, including large and non-ASCII ones", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const big = `${"x".repeat(300_000)}é☃\u0000"'\n`;
        await store.create(`${p}ns/big`, big);
        expect((await store.get(`${p}ns/big`)).kv?.value).toBe(big);
        await store.create(`${p}ns/empty`, "");
        expect((await store.get(`${p}ns/empty`)).kv?.value).toBe("");
      });
    });

    describe("large values", () => {
      it("refuses values over the size limit and writes nothing", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const before = await store.revisions(p);
        // 600k snowmen are 1.8 MB in UTF-8, though only 600k UTF-16 units.
        await expectStoreError(store.create(`${p}ns/big`, "☃".repeat(600_000)), "InvalidArgument");
        const ok = await store.create(`${p}ns/ok`, "x".repeat(1_500_000));
        expect(ok.succeeded).toBe(true);
        await expectStoreError(
          store.update(`${p}ns/ok`, "y".repeat(1_600_000), ok.revision),
          "InvalidArgument",
        );
        expect((await store.revisions(p)).current).toBe(before.current + 1);
      });

      it("watch delivers large and non-BMP values intact, in history and live", async () => {
        const { store } = await make();
        const p = freshPrefix();
        // Odd and even offsets of surrogate pairs, so any frame boundary lands inside one somewhere.
        const v1 = `a${"😀".repeat(150_000)}☃`;
        const v2 = `${"😀".repeat(150_000)}é`;
        const start = (await store.revisions(p)).current;
        const a = await store.create(`${p}ns/a`, v1);
        const iter = store.watch(`${p}ns/`, { afterRevision: start })[Symbol.asyncIterator]();
        await store.update(`${p}ns/a`, v2, a.revision);
        const got = await collectUntil(iter, (ev) => ev.length >= 2);
        await iter.return?.();
        expect(got.events[0].kv.value === v1).toBe(true);
        expect(got.events[1].kv.value === v2).toBe(true);
        expect(got.events[1].prevKv?.value === v1).toBe(true);
      });
    });

    describe("list and count", () => {
      it("lists a prefix in key order with limit, startAfter, more and remaining", async () => {
        const { store } = await make();
        const p = freshPrefix();
        for (const n of ["c", "a", "e", "b", "d"]) await store.create(`${p}ns/${n}`, n);
        await store.create(`${p}other/z`, "z");
        const all = await store.list(`${p}ns/`);
        expect(all.kvs.map((k) => k.value)).toEqual(["a", "b", "c", "d", "e"]);
        expect(all).toMatchObject({ more: false, remaining: 0 });
        const p1 = await store.list(`${p}ns/`, { limit: 2 });
        expect(p1.kvs.map((k) => k.value)).toEqual(["a", "b"]);
        expect(p1).toMatchObject({ more: true, remaining: 3 });
        const p2 = await store.list(`${p}ns/`, {
          limit: 2,
          startAfter: p1.kvs[1].key,
          revision: p1.revision,
        });
        expect(p2.kvs.map((k) => k.value)).toEqual(["c", "d"]);
        expect(p2).toMatchObject({ more: true, remaining: 1 });
        const p3 = await store.list(`${p}ns/`, {
          limit: 2,
          startAfter: p2.kvs[1].key,
          revision: p1.revision,
        });
        expect(p3.kvs.map((k) => k.value)).toEqual(["e"]);
        expect(p3).toMatchObject({ more: false, remaining: 0 });
        expect((await store.list(p)).kvs.length).toBe(6);
        expect((await store.count(`${p}ns/`)).count).toBe(5);
        expect((await store.count(p)).count).toBe(6);
        expect((await store.list(`${p}nothing/`)).kvs).toEqual([]);
      });

      it("paginates consistently at one revision while writes happen", async () => {
        const { store } = await make();
        const p = freshPrefix();
        for (let i = 0; i < 6; i++) await store.create(`${p}ns/k${i}`, `v${i}`);
        const p1 = await store.list(`${p}ns/`, { limit: 3 });
        const r = p1.revision;
        // Writes between pages: change, delete and add keys in the second page.
        const k4 = (await store.get(`${p}ns/k4`)).kv!;
        await store.update(`${p}ns/k4`, "changed", k4.modRevision);
        await store.delete(`${p}ns/k5`);
        await store.create(`${p}ns/k6`, "new");
        await store.delete(`${p}ns/k0`);
        const p2 = await store.list(`${p}ns/`, { limit: 3, startAfter: p1.kvs[2].key, revision: r });
        expect(p2.revision).toBe(r);
        expect(p2.kvs.map((k) => k.value)).toEqual(["v3", "v4", "v5"]);
        expect(p2.more).toBe(false);
        const now = await store.list(`${p}ns/`);
        expect(now.kvs.map((k) => k.value)).toEqual(["v1", "v2", "v3", "changed", "new"]);
        expect(now.revision).toBe(r + 4);
        expect((await store.count(`${p}ns/`)).count).toBe(5);
      });

      it("list at a future revision fails with FutureRevision", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const { current } = await store.revisions(p);
        await expectStoreError(store.list(`${p}ns/`, { revision: current + 5 }), "FutureRevision");
      });
    });

    describe("compaction", () => {
      it("older revisions answer Compacted; current state and the compacted revision stay readable", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const u = await store.update(`${p}ns/a`, "v2", a.revision);
        const b = await store.create(`${p}ns/b`, "b");
        await store.delete(`${p}ns/b`);
        const c = await store.update(`${p}ns/a`, "v3", u.revision);
        await store.compact(b.revision, p);
        expect((await store.revisions(p)).compacted).toBe(b.revision);
        await expectStoreError(store.get(`${p}ns/a`, a.revision), "Compacted");
        await expectStoreError(store.list(`${p}ns/`, { revision: u.revision }), "Compacted");
        expect((await store.get(`${p}ns/a`, b.revision)).kv?.value).toBe("v2");
        expect((await store.get(`${p}ns/b`, b.revision)).kv?.value).toBe("b");
        expect((await store.list(`${p}ns/`, { revision: b.revision })).kvs.map((k) => k.value)).toEqual([
          "v2",
          "b",
        ]);
        expect((await store.get(`${p}ns/a`)).kv).toMatchObject({
          value: "v3",
          version: 3,
          modRevision: c.revision,
        });
        expect((await store.list(`${p}ns/`)).kvs.map((k) => k.value)).toEqual(["v3"]);
        // Compacting again at or below is a no-op; beyond current is refused.
        await store.compact(a.revision, p);
        expect((await store.revisions(p)).compacted).toBe(b.revision);
        await expectStoreError(store.compact(c.revision + 10, p), "FutureRevision");
        // History after the compacted revision is intact.
        await store.compact(c.revision, p);
        expect((await store.get(`${p}ns/a`, c.revision)).kv?.value).toBe("v3");
        expect((await store.get(`${p}ns/b`, c.revision)).kv).toBeUndefined();
      });

      it("a watch from before the compacted revision fails with Compacted", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const u = await store.update(`${p}ns/a`, "v2", a.revision);
        await store.update(`${p}ns/a`, "v3", u.revision);
        await store.compact(u.revision, p);
        const err = await firstError(store.watch(`${p}ns/`, { afterRevision: a.revision }));
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe("Compacted");
        // From the compacted revision itself, later history is still there.
        const iter = store.watch(`${p}ns/`, { afterRevision: u.revision })[Symbol.asyncIterator]();
        const got = await collectUntil(iter, (ev) => ev.length >= 1);
        await iter.return?.();
        expect(got.events.map((e) => e.kv.value)).toEqual(["v3"]);
      });
    });

    describe("watch", () => {
      it("replays history from a past revision, then streams live, in order with prevKv", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const a = await store.create(`${p}ns/a`, "v1");
        const u = await store.update(`${p}ns/a`, "v2", a.revision);
        await store.create(`${p}other/x`, "not watched");
        const ctl = new AbortController();
        const iter = store
          .watch(`${p}ns/`, { afterRevision: a.revision - 1, signal: ctl.signal })
          [Symbol.asyncIterator]();
        const hist = await collectUntil(iter, (ev) => ev.length >= 2);
        expect(hist.events.map((e) => [e.type, e.kv.value, e.kv.modRevision])).toEqual([
          ["PUT", "v1", a.revision],
          ["PUT", "v2", u.revision],
        ]);
        expect(hist.events[0].prevKv).toBeUndefined();
        expect(hist.events[1].prevKv?.value).toBe("v1");
        const d = await store.delete(`${p}ns/a`);
        const b = await store.create(`${p}ns/b`, "b");
        const live = await collectUntil(iter, (ev) => ev.length >= 2);
        expect(live.events.map((e) => [e.type, e.kv.key, e.kv.modRevision])).toEqual([
          ["DELETE", `${p}ns/a`, d.revision],
          ["PUT", `${p}ns/b`, b.revision],
        ]);
        expect(live.events[0].kv.value).toBe("v2");
        expect(live.events[0].prevKv?.value).toBe("v2");
        ctl.abort();
        // After abort the stream ends (possibly after already-queued messages).
        const rest = await deadline(
          (async () => {
            const out: WatchMessage[] = [];
            for (let r = await iter.next(); !r.done; r = await iter.next()) out.push(r.value);
            return out;
          })(),
          10_000,
          "watch end after abort",
        );
        expect(rest.every((m) => m.type === "progress")).toBe(true);
      });

      it("sees concurrent writes exactly once across a reconnect from a remembered revision", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const start = (await store.revisions(p)).current;
        const total = 60;
        const writes = (async () => {
          const acked: number[] = [];
          for (let i = 0; i < total; i++) {
            const r = await store.create(`${p}ns/k${i % 7}-${i}`, `v${i}`);
            acked.push(r.revision);
          }
          return acked;
        })();
        const seen: WatchEvent[] = [];
        let after = start;
        // Three connections, each cut off after a few events; each resumes from the last revision it saw.
        for (let conn = 0; conn < 3; conn++) {
          const ctl = new AbortController();
          const iter = store
            .watch(`${p}ns/`, { afterRevision: after, signal: ctl.signal })
            [Symbol.asyncIterator]();
          const want = conn < 2 ? Math.min(total, seen.length + 15) : total;
          const got = await collectUntil(iter, (ev) => seen.length + ev.length >= want);
          seen.push(...got.events);
          after = seen[seen.length - 1].kv.modRevision;
          ctl.abort();
          await iter.return?.();
        }
        const acked = await writes;
        expect(revs(seen)).toEqual(acked);
        expect(new Set(revs(seen)).size).toBe(total);
      });

      it("filters by prefix and does not deliver events of other prefixes", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const start = (await store.revisions(p)).current;
        const iter = store.watch(`${p}ns1/`, { afterRevision: start })[Symbol.asyncIterator]();
        await store.create(`${p}ns2/a`, "no");
        await store.create(`${p}ns10/a`, "no");
        const w = await store.create(`${p}ns1/a`, "yes");
        const got = await collectUntil(iter, (ev) => ev.length >= 1);
        await iter.return?.();
        expect(got.events.map((e) => [e.kv.value, e.kv.modRevision])).toEqual([["yes", w.revision]]);
      });

      it("sends progress with the current revision when idle", async () => {
        const { store } = await make();
        const p = freshPrefix();
        await store.create(`${p}other/a`, "x");
        const { current } = await store.revisions(p);
        const iter = store
          .watch(`${p}ns/`, { afterRevision: current, progressIntervalMs: 20 })
          [Symbol.asyncIterator]();
        const got = await collectUntil(iter, (_ev, pr) => pr.length >= 1);
        await iter.return?.();
        expect(got.events).toEqual([]);
        expect(got.progress[0]).toBe(current);
      });

      it("a watch from a future revision delivers only writes that reach it", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const { current } = await store.revisions(p);
        const iter = store.watch(`${p}ns/`, { afterRevision: current + 1 })[Symbol.asyncIterator]();
        await store.create(`${p}ns/a`, "skipped");
        const b = await store.create(`${p}ns/b`, "seen");
        const got = await collectUntil(iter, (ev) => ev.length >= 1);
        await iter.return?.();
        expect(got.events.map((e) => e.kv.modRevision)).toEqual([b.revision]);
      });
    });

    describe("leases", () => {
      it("keys attached to a lease are deleted with DELETE events when it expires", async () => {
        const h = await make();
        const { store } = h;
        const p = freshPrefix();
        const lease = await store.leaseGrant(10);
        expect(lease.ttl).toBe(10);
        const a = await store.create(`${p}ns/a`, "a", lease.id);
        expect(a.kv?.lease).toBe(lease.id);
        await store.create(`${p}ns/b`, "b", lease.id);
        await store.create(`${p}ns/keep`, "keep");
        const iter = store
          .watch(`${p}ns/`, { afterRevision: (await store.revisions(p)).current })
          [Symbol.asyncIterator]();
        await h.advanceClock(5_000);
        expect(await store.leaseKeepAlive(lease.id)).toEqual({ id: lease.id, ttl: 10 });
        await h.advanceClock(9_000);
        await h.expireLeases();
        expect((await store.count(`${p}ns/`)).count).toBe(3);
        await h.advanceClock(2_000);
        await h.expireLeases();
        const got = await collectUntil(iter, (ev) => ev.length >= 2);
        await iter.return?.();
        expect(got.events.map((e) => [e.type, e.kv.key]).sort()).toEqual([
          ["DELETE", `${p}ns/a`],
          ["DELETE", `${p}ns/b`],
        ]);
        expect((await store.list(`${p}ns/`)).kvs.map((k) => k.value)).toEqual(["keep"]);
        await expectStoreError(store.leaseKeepAlive(lease.id), "LeaseNotFound");
        await expectStoreError(store.create(`${p}ns/c`, "c", lease.id), "LeaseNotFound");
      });

      it("revoke deletes attached keys now; an update without the lease detaches the key", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const lease = await store.leaseGrant(60);
        await store.create(`${p}ns/a`, "a", lease.id);
        const b = await store.create(`${p}ns/b`, "b", lease.id);
        const ub = await store.update(`${p}ns/b`, "b2", b.revision);
        expect(ub.succeeded && ub.kv.lease).toBe(0);
        await store.leaseRevoke(lease.id);
        expect((await store.list(`${p}ns/`)).kvs.map((k) => k.value)).toEqual(["b2"]);
        await expectStoreError(store.leaseRevoke(lease.id), "LeaseNotFound");
        await expectStoreError(store.leaseKeepAlive(lease.id), "LeaseNotFound");
        await expectStoreError(store.create(`${p}ns/x`, "x", 987654321), "LeaseNotFound");
        await expectStoreError(store.update(`${p}ns/b`, "b3", ub.revision, 987654321), "LeaseNotFound");
      });
    });

    describe("bad arguments fail by name and change nothing", () => {
      it("rejects malformed keys, prefixes, values, revisions, options and TTLs", async () => {
        const { store } = await make();
        const p = freshPrefix();
        const before = await store.revisions(p);
        const bad: Array<() => Promise<unknown>> = [
          () => store.create("no-slash", "v"),
          () => store.create("/other/a/b/c", "v"),
          () => store.create(`${p}ns/`, "v"),
          () => store.create(`${p}ns/a`, 42 as unknown as string),
          () => store.create(`${p}ns/a`, "v", -1),
          () => store.update(`${p}ns/a`, "v", -3),
          () => store.update(`${p}ns/a`, "v", 1.5),
          () => store.delete(`${p}ns/a`, Number.NaN),
          () => store.get(`${p}ns/a`, -1),
          () => store.get(42 as unknown as string),
          () => store.list(`${p}ns`),
          () => store.list("/registry/"),
          () => store.list(`${p}ns/`, { limit: -1 }),
          () => store.list(`${p}ns/`, { bogus: 1 } as never),
          () => store.list(`${p}ns/`, { startAfter: 5 } as never),
          () => store.count("nope"),
          () => store.compact(-1, p),
          () => store.leaseGrant(0),
          () => store.leaseGrant(1.5),
          () => store.leaseKeepAlive(-2),
        ];
        for (const call of bad) await expectStoreError(call(), "InvalidArgument");
        const watchErrs = [
          await firstError(store.watch(`${p}ns`, { afterRevision: 0 })),
          await firstError(store.watch(`${p}ns/`, { afterRevision: -1 })),
          await firstError(store.watch(`${p}ns/`, { afterRevision: 0, nope: true } as never)),
        ];
        for (const e of watchErrs) expect((e as StoreError).code).toBe("InvalidArgument");
        expect(await store.revisions(p)).toEqual(before);
        expect((await store.list(p)).kvs).toEqual([] as KeyValue[]);
      });
    });
  });
}
