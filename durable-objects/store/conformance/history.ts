/** Conformance cases: compaction, watch and leases. */
import { describe, expect, it } from "vitest";
import { StoreError, type WatchEvent, type WatchMessage } from "../types.ts";
import {
  collectUntil,
  deadline,
  expectStoreError,
  firstError,
  freshPrefix,
  revs,
  type StoreHarness,
} from "./helpers.ts";

/** Registers these conformance cases for `make`. */
export function historyCases(make: () => Promise<StoreHarness>): void {
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
}
