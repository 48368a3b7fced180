/**
 * The storage boundary's value transform (kube's etcd3 store + transformer):
 * a Store that encrypts values on the way in and decrypts them on the way
 * out for the keys of resources marked `storage.encryptAtRest` in the
 * resource table, and passes every other key through untouched (same
 * objects, so watch encodings stay shared).
 */
import type {
  KeyValue,
  ListOptions,
  ListResult,
  Store,
  TxnResult,
  WatchEvent,
  WatchMessage,
  WatchOptions,
} from "../../../durable-objects/store/types.ts";
import type { ValueTransformer } from "./encryption.ts";
import { collectionPrefix } from "./keys.ts";
import type { ResourceInfo } from "./types.ts";

/** A Store that transforms values, and tells which reads came from a stale (old key or plaintext) value. */
export interface TransformedStore extends Store {
  /** True when `kv` was read from a value not written with the current write key: an update must rewrite it. */
  isStale(kv: KeyValue): boolean;
}

/** Wrap `store` so the collections of resources marked encryptAtRest go through `transformer`. */
export function transformedStore(
  store: Store,
  transformer: ValueTransformer,
  resources: ResourceInfo[],
): TransformedStore {
  const prefixes = resources.filter((r) => r.storage?.encryptAtRest).map((r) => collectionPrefix(r));
  const stale = new WeakSet<KeyValue>();
  const covers = (key: string) => prefixes.some((p) => key.startsWith(p));
  // A range may hold transformed keys if it lies inside a transformed collection or contains one.
  const touches = (prefix: string) => prefixes.some((p) => prefix.startsWith(p) || p.startsWith(prefix));

  const read = async (kv: KeyValue | undefined): Promise<KeyValue | undefined> => {
    if (!kv || !covers(kv.key)) return kv;
    const { value, stale: old } = await transformer.fromStorage(kv.value, kv.key);
    const out = { ...kv, value };
    if (old) stale.add(out);
    return out;
  };
  const readTxn = async (txn: TxnResult): Promise<TxnResult> =>
    txn.kv ? ({ ...txn, kv: await read(txn.kv) } as TxnResult) : txn;
  const write = (key: string, value: string) =>
    covers(key) ? transformer.toStorage(value, key) : Promise.resolve(value);

  async function* watch(prefix: string, options: WatchOptions): AsyncGenerator<WatchMessage> {
    for await (const message of store.watch(prefix, options)) {
      if (message.type !== "events") {
        yield message;
        continue;
      }
      const events: WatchEvent[] = [];
      for (const event of message.events) {
        const out: WatchEvent = { ...event, kv: (await read(event.kv))! };
        if (event.prevKv) out.prevKv = await read(event.prevKv);
        events.push(out);
      }
      yield { type: "events", events };
    }
  }

  return {
    isStale: (kv) => stale.has(kv),
    create: async (key, value, lease) => readTxn(await store.create(key, await write(key, value), lease)),
    get: async (key, revision) => {
      const result = await store.get(key, revision);
      return { ...result, kv: await read(result.kv) };
    },
    list: async (prefix: string, options?: ListOptions): Promise<ListResult> => {
      const result = await store.list(prefix, options);
      if (!touches(prefix)) return result;
      const kvs: KeyValue[] = [];
      for (const kv of result.kvs) kvs.push((await read(kv))!);
      return { ...result, kvs };
    },
    count: (prefix) => store.count(prefix),
    update: async (key, value, expected, lease) =>
      readTxn(await store.update(key, await write(key, value), expected, lease)),
    delete: async (key, expected) => readTxn(await store.delete(key, expected)),
    watch: (prefix, options) => (touches(prefix) ? watch(prefix, options) : store.watch(prefix, options)),
    revisions: (prefix) => store.revisions(prefix),
    compact: (revision, prefix) => store.compact(revision, prefix),
    leaseGrant: (ttl) => store.leaseGrant(ttl),
    leaseKeepAlive: (id) => store.leaseKeepAlive(id),
    leaseRevoke: (id) => store.leaseRevoke(id),
  };
}
