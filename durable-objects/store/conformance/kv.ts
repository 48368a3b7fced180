/** Conformance cases: writes, reads, large values, list/count, argument checks. */
import { describe, expect, it } from "vitest";
import type { KeyValue, StoreError } from "../types.ts";
import { collectUntil, expectStoreError, firstError, freshPrefix, type StoreHarness } from "./helpers.ts";

/** Registers these conformance cases for `make`. */
export function kvCases(make: () => Promise<StoreHarness>): void {
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
}
