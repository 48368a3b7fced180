/**
 * Watch over the Worker → object WebSocket: ending a watch (abort, or the
 * consumer breaking out) closes its socket on the object, so watches never
 * pile up; and a store error refuses the watch before any socket is opened.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { createDurableStore } from "./client.ts";
import type { StoreObject } from "./object.ts";
import { StoreError } from "./types.ts";

function shard(name: string) {
  const id = `watchtest/${name}${Date.now()}`;
  return {
    prefix: `/registry/${id}/`,
    stub: env.STORE.get(env.STORE.idFromName(id)) as DurableObjectStub<StoreObject>,
  };
}

const openSockets = (stub: DurableObjectStub<StoreObject>) =>
  runInDurableObject(stub, (_o: StoreObject, state) => state.getWebSockets().length);

/** Polls a condition until it holds or the deadline passes (no fixed sleeps). */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met before the deadline");
    await new Promise((r) => setTimeout(r, 10));
  }
}

it("abort and break both close the object's socket", async () => {
  const { prefix, stub } = shard("close");
  const store = createDurableStore(env.STORE);
  await store.create(`${prefix}ns/a`, "1");
  const ctl = new AbortController();
  const aborted = store
    .watch(`${prefix}ns/`, { afterRevision: 0, signal: ctl.signal })
    [Symbol.asyncIterator]();
  const broken = store.watch(`${prefix}ns/`, { afterRevision: 0 })[Symbol.asyncIterator]();
  expect((await aborted.next()).value).toMatchObject({ type: "events" });
  expect((await broken.next()).value).toMatchObject({ type: "events" });
  expect(await openSockets(stub)).toBe(2);
  ctl.abort();
  await broken.return?.();
  await eventually(async () => (await openSockets(stub)) === 0);
  // The aborted iterator is finished.
  expect((await aborted.next()).done).toBe(true);
}, 30_000);

it("a refused watch (Compacted) opens no socket", async () => {
  const { prefix, stub } = shard("refused");
  const store = createDurableStore(env.STORE);
  const a = await store.create(`${prefix}ns/a`, "1");
  const b = await store.update(`${prefix}ns/a`, "2", a.revision);
  await store.compact(b.revision, prefix);
  const iter = store.watch(`${prefix}ns/`, { afterRevision: a.revision - 1 })[Symbol.asyncIterator]();
  const err = await iter.next().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe("Compacted");
  expect(await openSockets(stub)).toBe(0);
}, 30_000);

it("many sequential watches leave no sockets behind", async () => {
  const { prefix, stub } = shard("many");
  const store = createDurableStore(env.STORE);
  const w = await store.create(`${prefix}ns/a`, "1");
  for (let i = 0; i < 30; i++) {
    for await (const msg of store.watch(`${prefix}ns/`, { afterRevision: w.revision - 1 })) {
      expect(msg.type).toBe("events");
      break;
    }
  }
  await eventually(async () => (await openSockets(stub)) === 0);
}, 30_000);
