/**
 * Leases span shards: the authority fans revocation (by call or on expiry)
 * out to every shard that attached a key to the lease.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { createDurableStore } from "./client.ts";
import type { StoreObject } from "./object.ts";
import { LEASE_AUTHORITY } from "./rpc.ts";
import type { StoreError } from "./types.ts";

const authority = () =>
  env.STORE.get(env.STORE.idFromName(LEASE_AUTHORITY)) as DurableObjectStub<StoreObject>;

function prefixes(name: string): [string, string] {
  const t = Date.now();
  return [`/registry/leasetest/${name}a${t}/`, `/registry/leasetest/${name}b${t}/`];
}

it("expiry deletes the lease's keys in every shard, and both shards then refuse the lease", async () => {
  const store = createDurableStore(env.STORE);
  const [p1, p2] = prefixes("expiry");
  const lease = await store.leaseGrant(30);
  await store.create(`${p1}ns/a`, "a", lease.id);
  await store.create(`${p2}ns/b`, "b", lease.id);
  await store.create(`${p2}ns/keep`, "keep");
  await runInDurableObject(authority(), (o: StoreObject) => {
    o.clockOffsetMs += 31_000;
  });
  await runDurableObjectAlarm(authority());
  expect((await store.list(`${p1}ns/`)).kvs).toEqual([]);
  expect((await store.list(`${p2}ns/`)).kvs.map((k) => k.value)).toEqual(["keep"]);
  for (const p of [p1, p2]) {
    const err = await store.create(`${p}ns/again`, "x", lease.id).catch((e: unknown) => e);
    expect((err as StoreError).code).toBe("LeaseNotFound");
  }
}, 30_000);

it("revoke reaches every shard, each delete being its own revision with a DELETE event", async () => {
  const store = createDurableStore(env.STORE);
  const [p1, p2] = prefixes("revoke");
  const lease = await store.leaseGrant(600);
  const a = await store.create(`${p1}ns/a`, "a", lease.id);
  await store.create(`${p2}ns/b`, "b", lease.id);
  const iter = store.watch(`${p1}ns/`, { afterRevision: a.revision })[Symbol.asyncIterator]();
  await store.leaseRevoke(lease.id);
  const next = await iter.next();
  await iter.return?.();
  expect(next.value).toMatchObject({
    type: "events",
    events: [{ type: "DELETE", kv: { key: `${p1}ns/a` } }],
  });
  expect((await store.count(`${p2}ns/`)).count).toBe(0);
  expect((await store.revisions(p1)).current).toBe(a.revision + 1);
}, 30_000);
